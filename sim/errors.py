"""Errors for bad input: each message names the thing, its value and what is allowed."""


class InputError(ValueError):
    """Bad user input (file, scenario, option). The command line prints it and exits with code 2."""


class NetworkError(InputError):
    """A network file that cannot be loaded or fails validation."""


def describe_validation_error(exc, where: str) -> str:
    """A pydantic ValidationError as lines naming each field, its value and what is allowed."""
    lines = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        value = err.get("input")
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        if err["type"] == "missing":
            lines.append(f"{loc or '(top level)'}: missing; this field is required")
        elif err["type"] == "value_error" and isinstance(value, dict):
            # a check across a table's fields: its message names the fields and values, and
            # the table itself would only bury it
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{loc + ': ' if loc else ''}{msg}")
        else:
            lines.append(f"{loc or '(top level)'} = {shown}: {err['msg']}")
    return f"{where}:\n  " + "\n  ".join(lines)
