"""argparse types for the command line's numbers and addresses: a bad value is refused before
anything runs, with exit code 2 and a message naming the option's value and what is allowed."""

from __future__ import annotations

import argparse
import ipaddress
import math
import re

from .bounds import MAX_SEED

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def seed(text: str) -> int:
    """A random seed: a whole number 0 <= seed < 2**63."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a seed: give a whole number from 0 to 2**63 - 1")
    return value


def whole(low: int, high: int):
    """A whole number low <= n <= high (the bound above is a judgement per option)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number from {low} to {high}")
        return value

    parse.__name__ = f"whole number {low}..{high}"
    return parse


def positive_number(high: float):
    """A finite number 0 < x <= high."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0 < value <= high:  # False for nan
            raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0 and at most "
                                             f"{high:g}")
        return value

    parse.__name__ = f"number 0..{high:g}"
    return parse


def clock(text: str) -> str:
    """A time of day, 'HH:MM' or 'HH:MM:SS' (or seconds), within the week a run may cover; kept
    as the text given."""
    from .bounds import MAX_CLOCK_S
    from .clock import parse_clock

    try:
        value = parse_clock(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 0 <= value <= MAX_CLOCK_S:  # False for nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day within a week")
    return text


def port(text: str) -> int:
    return whole(1, 65535)(text)


def host(text: str) -> str:
    """An address to listen on: an IP address or a host name."""
    t = text.strip()
    try:
        ipaddress.ip_address(t)
        return t
    except ValueError:
        pass
    if _HOSTNAME.match(t) and not t.replace(".", "").isdigit():
        return t
    raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or a host name")


def is_local(address: str) -> bool:
    return address in LOCAL_HOSTS or address.startswith("127.")
