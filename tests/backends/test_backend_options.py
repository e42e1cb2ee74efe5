"""Plugin options: declared once, resolved with one precedence, secrets kept out of files and output."""

from __future__ import annotations

import pytest

from workbench.backends.options import (BackendOptionError, DuplicateOptionError, Option, OptionDeclarationError,
                                        OptionSchema, schema_of)
from workbench.errors import ExitCode

SCHEMA = OptionSchema(
    Option("address", str, env="X_ADDRESS", help="where"),
    Option("workers", int, default=2),
    Option("timeout", float, default=5.0),
    Option("dashboard", bool, default=False),
    Option("mode", str, default="a", choices=("a", "b")),
    Option("token", str, secret=True, env="X_TOKEN"),
)


def test_precedence_explicit_then_toml_then_env_then_default():
    env = {"X_ADDRESS": "from-env", "X_TOKEN": "t0k3n"}
    assert SCHEMA.resolve(environ=env) == {"address": "from-env", "workers": 2, "timeout": 5.0, "dashboard": False,
                                           "mode": "a", "token": "t0k3n"}
    got = SCHEMA.resolve({"workers": "4"}, {"address": "from-toml", "workers": 3, "dashboard": "yes"}, environ=env)
    assert got["address"] == "from-toml" and got["workers"] == 4 and got["dashboard"] is True


def test_unset_optional_values_are_left_to_the_constructor():
    assert "address" not in SCHEMA.resolve(environ={})


@pytest.mark.parametrize("explicit, message", [
    ({"workers": "many"}, "workers must be int"),
    ({"workers": 2.5}, "workers must be int"),
    ({"timeout": True}, "timeout must be float"),
    ({"dashboard": "maybe"}, "dashboard must be bool"),
    ({"mode": "c"}, "mode must be one of a, b"),
    ({"nope": 1}, "unknown option 'nope'"),
])
def test_bad_values_are_one_clear_sentence(explicit, message):
    with pytest.raises(BackendOptionError, match=message) as err:
        SCHEMA.resolve(explicit, environ={})
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_secrets_are_refused_in_workbench_toml_and_masked():
    with pytest.raises(BackendOptionError, match="X_TOKEN"):
        SCHEMA.resolve({}, {"token": "in-a-file"}, environ={})
    assert SCHEMA.masked({"token": "t0k3n", "address": "a"}) == {"token": "***", "address": "a"}
    with pytest.raises(BackendOptionError) as err:
        SCHEMA.resolve({"token": "x"}, {"token": "s3cr3t-value"}, environ={})
    assert "s3cr3t-value" not in err.value.message


def test_required_option_names_its_flag_and_env():
    schema = OptionSchema(Option("bucket", str, required=True, env="B"))
    with pytest.raises(BackendOptionError, match="bucket is required .flag --bucket or set \\$B"):
        schema.resolve(environ={})


def test_declaring_an_option_twice_is_an_error():
    with pytest.raises(DuplicateOptionError, match="'workers' is declared twice") as err:
        OptionSchema(Option("workers", int), Option("workers", str))
    assert err.value.exit_code == ExitCode.BACKEND_UNAVAILABLE  # a broken plugin, not bad user input

    class Plugin:
        OPTIONS = (Option("a"), Option("a"))

    with pytest.raises(DuplicateOptionError):
        schema_of(Plugin)


@pytest.mark.parametrize("make", [
    lambda: Option("Bad-Name"),
    lambda: Option("x", list),
    lambda: Option("key", secret=True),
])
def test_malformed_declarations_are_plugin_errors(make):
    with pytest.raises(OptionDeclarationError):
        make()


def test_flags_and_keys_come_from_the_declaration():
    assert Option("connect_timeout", float).flag == "--connect-timeout"
    assert [o.name for o in SCHEMA][:2] == ["address", "workers"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", float("nan"), float("inf")])
def test_a_non_finite_float_option_is_refused(value) -> None:
    with pytest.raises(BackendOptionError, match="must be float"):
        Option("scale", float, 1.0).coerce(value, "test")


@pytest.mark.parametrize("value", [1e300, "1" + "0" * 30, -(2**64)])
def test_an_integer_option_beyond_64_bits_is_refused(value) -> None:
    with pytest.raises(BackendOptionError, match="must be int"):
        Option("workers", int, 1).coerce(value, "test")
