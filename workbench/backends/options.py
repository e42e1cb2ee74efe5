"""Plugin options, declared once and shown everywhere: CLI flags, TUI fields and `workbench.toml` keys.

A back-end declares `OPTIONS = OptionSchema(Option("address", str, ...), ...)` on its class. Workbench
reads the schema to build `--address` flags, a TUI form field and the `[backends.<name>]` (compute) or
`[storage.<name>]` (storage) keys, and resolves one value per option with a fixed precedence:
explicit value (flag, form, run spec) > `workbench.toml` > environment variable > default.

Secret options (`secret=True`) come from their environment variable only: they are refused in
`workbench.toml` and on the command line (both end up in shell history, files or the audit log), and
`describe()` masks them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from workbench.errors import BackendUnavailableError, BadInputError
from workbench.numbers import MAX_INTEGER

OptionType = type  # one of str, int, float, bool

_TYPES: tuple[type, ...] = (str, int, float, bool)
MASK = "***"


class BackendOptionError(BadInputError):
    """A value given for a back-end option is wrong (unknown key, wrong type, missing required value)."""

    title = "Back-end option problem"


class OptionDeclarationError(BackendUnavailableError):
    """A plugin declared its options wrongly: the plugin is broken, not the user's input."""

    title = "Broken plugin"


class DuplicateOptionError(OptionDeclarationError):
    """A plugin declared the same option twice."""


@dataclass(frozen=True)
class Option:
    """One typed option of a back-end. `name` is a Python identifier (the constructor keyword)."""

    name: str
    type: OptionType = str
    default: Any = None
    help: str = ""
    required: bool = False
    secret: bool = False
    env: str | None = None  # environment variable read when neither an explicit value nor the toml sets it
    choices: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise OptionDeclarationError(f"Option name {self.name!r} must be a lower-case Python identifier.")
        if self.type not in _TYPES:
            raise OptionDeclarationError(f"Option {self.name!r} has type {self.type!r}; use str, int, float or bool.")
        if self.secret and not self.env:
            raise OptionDeclarationError(f"Secret option {self.name!r} must name the environment variable it is read from.")

    @property
    def flag(self) -> str:
        """The CLI flag, e.g. `--connect-timeout`."""
        return "--" + self.name.replace("_", "-")

    def coerce(self, value: Any, where: str) -> Any:
        """Convert a value from TOML, a flag, a form field or the environment to this option's type."""
        if value is None:
            return None
        try:
            if self.type is bool:
                if isinstance(value, bool):
                    out: Any = value
                elif str(value).strip().lower() in ("1", "true", "yes", "on"):
                    out = True
                elif str(value).strip().lower() in ("0", "false", "no", "off"):
                    out = False
                else:
                    raise ValueError(value)
            elif self.type is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError(value)
                out = int(value)
                if not -MAX_INTEGER <= out <= MAX_INTEGER:  # 1e300 is an int in Python, not in any back-end
                    raise ValueError(value)
            elif self.type is float:
                if isinstance(value, bool):
                    raise ValueError(value)
                out = float(value)
                if not math.isfinite(out):  # nan / inf are never a setting
                    raise ValueError(value)
            else:
                out = str(value)
        except (TypeError, ValueError):
            shown = MASK if self.secret else repr(value)
            raise BackendOptionError(f"{where}: {self.name} must be {self.type.__name__}, not {shown}.") from None
        if self.choices is not None and out not in self.choices:
            raise BackendOptionError(f"{where}: {self.name} must be one of {', '.join(map(str, self.choices))}.")
        return out


class OptionSchema:
    """The ordered, duplicate-free options of one back-end."""

    def __init__(self, *options: Option) -> None:
        seen: set[str] = set()
        for opt in options:
            if not isinstance(opt, Option):
                raise OptionDeclarationError(f"OptionSchema takes Option values, not {type(opt).__name__}.")
            if opt.name in seen:
                raise DuplicateOptionError(f"the option {opt.name!r} is declared twice.")
            seen.add(opt.name)
        self._options = {o.name: o for o in options}

    def __iter__(self) -> Iterator[Option]:
        return iter(self._options.values())

    def __len__(self) -> int:
        return len(self._options)

    def __contains__(self, name: object) -> bool:
        return name in self._options

    def __getitem__(self, name: str) -> Option:
        return self._options[name]

    def __repr__(self) -> str:
        return f"OptionSchema({', '.join(self._options)})"

    def resolve(
        self,
        explicit: Mapping[str, Any] | None = None,
        configured: Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        where: str = "options",
    ) -> dict[str, Any]:
        """One value per option: explicit > configured (workbench.toml) > environment > default.

        Unset optional values are left out, so the back-end's own constructor defaults apply."""
        env = os.environ if environ is None else environ
        explicit = {k: v for k, v in (explicit or {}).items() if v is not None}
        configured = dict(configured or {})
        for source, values in (("given", explicit), (where, configured)):
            unknown = sorted(set(values) - set(self._options))
            if unknown:
                known = ", ".join(self._options) or "none"
                raise BackendOptionError(f"{source}: unknown option {unknown[0]!r} (known: {known}).")
        out: dict[str, Any] = {}
        for opt in self:
            if opt.secret and opt.name in configured:
                raise BackendOptionError(
                    f"{where}: {opt.name} is a secret; set it in the environment variable {opt.env} instead."
                )
            if opt.name in explicit:
                value = opt.coerce(explicit[opt.name], "given")
            elif opt.name in configured:
                value = opt.coerce(configured[opt.name], where)
            elif opt.env and env.get(opt.env) not in (None, ""):
                value = opt.coerce(env[opt.env], f"${opt.env}")
            elif opt.default is not None:
                value = opt.default
            else:
                if opt.required:
                    hint = f" or set ${opt.env}" if opt.env else ""
                    raise BackendOptionError(f"{where}: {opt.name} is required (flag {opt.flag}{hint}).")
                continue
            out[opt.name] = value
        return out

    def masked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` safe to show or record: secret options masked."""
        return {k: (MASK if k in self._options and self._options[k].secret and v not in (None, "") else v)
                for k, v in values.items()}


EMPTY_SCHEMA = OptionSchema()


def schema_of(backend_class: Any) -> OptionSchema:
    """The declared options of a back-end class (none if it declares none); a malformed declaration is
    a broken plugin."""
    declared = getattr(backend_class, "OPTIONS", None)
    if declared is None:
        return EMPTY_SCHEMA
    if isinstance(declared, OptionSchema):
        return declared
    if isinstance(declared, (list, tuple)):
        return OptionSchema(*declared)
    raise OptionDeclarationError(f"OPTIONS must be an OptionSchema, not {type(declared).__name__}.")
