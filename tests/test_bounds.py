"""Each field's range is declared once (a :class:`mgdl_core.errors.Bound` in the field's metadata)
and read by both the configuration's check and the ``mgdl`` command's option (issue 25): the two
accept exactly the same values, a subclass that changes a default keeps the bound, and every
numeric field of every task declares one."""
import dataclasses
import math
import typing

import pytest

from mgdl_core.cli import main
from mgdl_core.errors import Bound, ConfigError, field_bound, field_bounds
from mgdl_core.tasks.base import RunConfig
from mgdl_core.tasks.kinds import KINDS
from mgdl_core.tasks.restoration import RestorationRun
from mgdl_core.tasks.synthetic import SyntheticRun

# numeric fields checked by code of their own, not by a Bound (and why)
OWN_CHECK = {
    "grade_epochs": "a tuple, each entry checked with EPOCHS",
    "relu_prime_at_zero": "core.step.check_relu_prime_at_zero, whose message names the conventions",
    "section": "one of the paper's sections, a choice",
    "snapshot_epochs": "a tuple of epochs, each checked by check_int",
}


def _numeric(cls) -> list[str]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        args = set(typing.get_args(hints[f.name])) or {hints[f.name]}
        if args & {int, float} and bool not in args:
            out.append(f.name)
    return out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_numeric_field_of_every_task_declares_its_bound(kind):
    cls = KINDS[kind]
    missing = [n for n in _numeric(cls) if n not in field_bounds(cls) and n not in OWN_CHECK]
    assert not missing, f"{cls.__name__}: numeric fields without a Bound: {missing}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_subclass_that_changes_a_default_keeps_the_bound(kind):
    cls = KINDS[kind]
    assert field_bound(cls, "lr") is field_bound(RunConfig, "lr")
    with pytest.raises(ConfigError, match="learning rate"):
        cls(lr=0.0)


def test_bound_parse_and_check():
    b = Bound(0, 10, integer=True)
    assert b.parse("x", "2e0") == 2 and b.parse("x", "1_0") == 10
    for text in ("2.5", "nan", "1e400", "abc", "11", "-1"):
        with pytest.raises(ConfigError):
            b.parse("x", text)
    f = Bound(0.0, 5.0, floor=1e-3)
    assert f.check("x", 0) == 0.0 and f.check("x", 1e-3) == 1e-3
    with pytest.raises(ConfigError, match="underflows"):
        f.check("x", 1e-200)
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        Bound(0.0, 1.0, low_open=True).check("x", 0.0)
    with pytest.raises(KeyError):
        field_bound(SyntheticRun, "method")


# (option, field, values on both sides of each end of its range)
CASES = [
    ("--noise", "noise", ["0", "255", "-1", "255.5", "nan", "inf"]),
    ("--blur", "blur", ["0", "1e-3", "1e-200", "100", "100.5"]),
    ("--lam", "lam", ["0", "1e6", "-0.1", "2e6"]),
    ("--beta", "beta", ["0", "1e-9", "1e6", "2e6"]),
    ("--lr", "lr", ["0", "1e-12", "1000", "1000.5"]),
    ("--epochs", "epochs", ["0", "1", "1e9", "1000000001", "2.5"]),
    ("--seed", "seed", ["0", "4294967295", "4294967296", "-1"]),
    ("--track-every", "track_every", ["0", "100", "-5"]),
]


@pytest.mark.parametrize("option,name,values", CASES)
def test_the_command_and_the_configuration_accept_the_same_values(option, name, values, capsys, tmp_path):
    """The option refuses a value (exit 2, one line) exactly when the configuration would."""
    bound = field_bound(RestorationRun, name)
    for text in values:
        try:
            expected = bound.check(name, float(text) if not bound.integer else _int_or_text(text))
            config_ok = True
        except ConfigError:
            config_ok = False
        args = ["run", "restore", option, text, "--out", str(tmp_path / "no-such" / "folder"), "--lr", "bad"]
        # --lr bad fails after every other option parsed: a refusal of `option` comes first
        if option == "--lr":
            args = ["run", "restore", "--lr", text, "--out", str(tmp_path), "--epochs", "bad"]
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2
        refused_here = f"argument {option}:" in err
        assert refused_here == (not config_ok), (option, text, err)
        if config_ok and not bound.integer:
            assert math.isfinite(expected)


def _int_or_text(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if math.isfinite(number) and number.is_integer() else number
