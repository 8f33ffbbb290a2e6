"""The `--set PATH=VALUE` language every command shares: values as TOML reads them, paths checked
against the scenario schema, list items by index, and aliases that read more naturally.

`run`, `validate`, `viz`, `drill`, `compare`, `sweep`, `sensitivity` and `calibrate` all apply
overrides through `apply_overrides` (by way of the scenario loader), so one set of names works
everywhere and an unknown name gets one message: the override, the field, close matches and what
is allowed. This module knows the schema only as the model class it is given, so the scenario
module can use it without an import circle.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from .errors import InputError
from .network import CLASS_DEFAULTS

# Capacity per lane that `traffic.capacity_per_lane` is measured against: the expressway default
# of sim/network.py CLASS_DEFAULTS (2,000 veh/h per lane). Every road class scales alike.
REFERENCE_LANE_CAPACITY = CLASS_DEFAULTS["expressway"].capacity_vph_per_lane


# ---- aliases ---------------------------------------------------------------------------------
def _fleet(value: float, scenario) -> float:
    """shuttles.fleet=N -> fleet_scale: N over the scenario's total line buses."""
    total = sum(line.fleet() for line in scenario.shuttles.lines)
    if total == 0:
        raise InputError(f"shuttles.fleet={value:g}: scenario {scenario.name!r} has no shuttle "
                         "lines, so there is no fleet to scale")
    return value / total


def _capacity(value: float, _scenario) -> float:
    """traffic.capacity_per_lane=X -> capacity_scale against the reference lane capacity."""
    return value / REFERENCE_LANE_CAPACITY


@dataclass(frozen=True)
class Alias:
    """A parameter name that is not a scenario field: it sets `target` to `convert(value)`."""

    name: str
    target: str
    meaning: str
    convert: Callable[[float, Any], float]
    unit: str = ""  # what the value is counted in, for chart axes


# name -> what it sets. The conversion sees the scenario with every plain override applied.
ALIASES: dict[str, Alias] = {a.name: a for a in (
    Alias("shuttles.fleet", "shuttles.fleet_scale",
          "total line buses N: fleet_scale = N / the scenario's total line vehicles", _fleet,
          "buses"),
    Alias("traffic.capacity_per_lane", "traffic.capacity_scale",
          f"veh/h per lane X: capacity_scale = X / {REFERENCE_LANE_CAPACITY:g} (the expressway "
          "default); every road's capacity scales alike", _capacity, "veh/h per lane"),
)}


def aliases_help() -> str:
    """The aliases and what they mean, for help texts and error messages."""
    return "; ".join(f"{a.name} ({a.meaning})" for a in ALIASES.values())


def alias_number(path: str, text: str, context: str) -> float:
    """An alias's value: a number above 0 (a fleet or a capacity), else an error naming it."""
    x = parse_value(text)
    if isinstance(x, bool) or not isinstance(x, int | float) or not x > 0:
        raise InputError(f"{context}: {path} must be a number > 0, not {text!r}")
    return float(x)


# ---- values and paths ------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A --set value as TOML reads it (numbers, booleans, arrays, quoted strings), else text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def split_override(assignment: str) -> tuple[str, str]:
    """`path=value` -> (path, value text), both stripped; an error when there is no '='."""
    if "=" not in assignment:
        raise InputError(
            f"--set {assignment!r}: expected path=value, e.g. traffic.demand_scale=0.8")
    path, text = assignment.split("=", 1)
    return path.strip(), text.strip()


def unwrap(ann: Any) -> Any:
    """Strip Annotated and `X | None` down to the type that decides what may follow a path."""
    while True:
        origin = get_origin(ann)
        if origin is Annotated:
            ann = get_args(ann)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(ann) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            ann = models[0] if models else args[0]
        else:
            return ann


def _field_names(model: type[BaseModel]) -> list[str]:
    """The fields a file or --set may give (not those kept out of files, such as source_path)."""
    return [n for n, f in model.model_fields.items() if not f.exclude]


def _close_matches(path: str, key: str, where: str, model: type[BaseModel]) -> list[str]:
    """Up to three full paths close to an unknown one: fields beside it, then aliases."""
    prefix = f"{where}." if where else ""
    close = [prefix + m for m in difflib.get_close_matches(key, _field_names(model), n=3)]
    close += difflib.get_close_matches(path, list(ALIASES), n=2)
    return list(dict.fromkeys(close))[:3]


def _unknown_field(context: str, path: str, key: str, where: str,
                   model: type[BaseModel]) -> InputError:
    """The error for a name the schema does not have: the field, close matches, what is allowed."""
    close = _close_matches(path, key, where, model)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    what = f"no field {key!r} under {where}" if where else f"{key!r} is not a scenario field"
    allowed = f"{where or 'a scenario'} has: {', '.join(_field_names(model))}"
    return InputError(f"{context}: unknown parameter {path!r}: {what}.{hint} "
                      f"Allowed: {allowed}; aliases: {aliases_help()}")


def check_path(path: str, schema: type[BaseModel], context: str | None = None) -> Any:
    """Check a parameter path against the schema (aliases included); return the type of its
    value. Unknown paths raise InputError naming the path, close matches and what is allowed."""
    context = context or f"parameter {path!r}"
    if path in ALIASES:
        return float
    keys = path.split(".")
    if not path or not all(keys):
        raise InputError(f"{context}: {path!r} is not a parameter path (dotted names, "
                         "e.g. traffic.demand_scale)")
    ann: Any = schema
    walked: list[str] = []
    for key in keys:
        ann = unwrap(ann)
        origin = get_origin(ann)
        where = ".".join(walked)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if key not in _field_names(ann):
                raise _unknown_field(context, path, key, where, ann)
            ann = ann.model_fields[key].annotation
        elif origin is list or origin is tuple:
            if not key.lstrip("-").isdigit():
                raise InputError(f"{context}: unknown parameter {path!r}: {where} is a list, "
                                 f"so {key!r} must be an item index (e.g. {where}.0)")
            args = get_args(ann)
            ann = args[0] if args else Any
        elif origin is dict:
            key_type, ann = get_args(ann)
            keys_allowed = [str(k) for k in get_args(key_type)]  # a path's keys are text
            if get_origin(key_type) is Literal and key not in keys_allowed:
                raise InputError(f"{context}: unknown parameter {path!r}: {key!r} is not one of "
                                 f"{where}'s keys: {', '.join(keys_allowed)}")
        else:
            raise InputError(f"{context}: unknown parameter {path!r}: {where} is a single value, "
                             "not a table")
        walked.append(key)
    return unwrap(ann)


# ---- applying --------------------------------------------------------------------------------
def read_path(data, path: str):
    """The value at a dotted parameter path ("shuttles.lines.0.buses") of a scenario's plain data
    (model_dump), or None where the path leads nowhere."""
    node = data
    for key in path.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def apply_override(raw: dict, assignment: str) -> None:
    """Apply one `path=value` to the raw scenario dict; list items by index (closures.0.start)."""
    path, text = split_override(assignment)
    keys = path.split(".")
    if not all(keys):
        raise InputError(f"--set {assignment!r}: empty part in path {path!r}")
    node: Any = raw
    walked = []
    for key in keys[:-1]:
        if not isinstance(node, dict | list):
            raise InputError(f"--set {path}: {'.'.join(walked)} = {node!r} is a value, not a "
                             "table or a list")
        walked.append(key)
        node = _list_item(node, key, walked) if isinstance(node, list) else \
            node.setdefault(key, {})
    if not isinstance(node, dict | list):
        raise InputError(f"--set {path}: {'.'.join(walked)} = {node!r} is a value, not a "
                         "table or a list")
    last = keys[-1]
    if isinstance(node, list):
        node[_index(node, last, [*walked, last])] = parse_value(text)
    else:
        node[last] = parse_value(text)


def _index(node: list, key: str, walked: list[str]) -> int:
    try:
        idx = int(key)
    except ValueError:
        raise InputError(f"--set: {'.'.join(walked)}: {key!r} must be a list index") from None
    if not -len(node) <= idx < len(node):
        raise InputError(f"--set: {'.'.join(walked)}: index {idx} is out of range "
                         f"(the list has {len(node)} items)")
    return idx


def _list_item(node: list, key: str, walked: list[str]):
    return node[_index(node, key, walked)]


def apply_overrides(raw: dict, overrides: Sequence[str], schema: type[BaseModel],
                    validate: Callable[[dict], Any]):
    """The raw scenario with every `PATH=VALUE` applied in the order given, validated.

    Each path is checked against the schema first. An alias is converted against the scenario
    with all the plain overrides in place (shuttles.fleet counts the lines as they end up) and
    takes the alias's place in the order, so a later value for the same field still wins."""
    plain = copy.deepcopy(raw)
    aliased = False
    for assignment in overrides:
        path, text = split_override(assignment)
        if path in ALIASES:
            alias_number(path, text, f"--set {assignment!r}")
            aliased = True
            continue
        apply_override(plain, assignment)  # a value in the way is named with its value
        check_path(path, schema, f"--set {assignment!r}")
    scenario = validate(plain)
    if not aliased:
        return scenario
    final = copy.deepcopy(raw)
    for assignment in overrides:
        path, text = split_override(assignment)
        if path in ALIASES:
            alias = ALIASES[path]
            x = alias.convert(alias_number(path, text, f"--set {assignment!r}"), scenario)
            assignment = f"{alias.target}={float(x)!r}"
        apply_override(final, assignment)
    return validate(final)
