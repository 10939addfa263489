"""The ``mgdl`` command's grammar: its subcommands and options, and the argument types that refuse
a bad value in one line before anything is imported or trained (:class:`UsageError`).

The bounds come from the library: an option that sets a configuration field parses with the
range declared on that field (:func:`mgdl_core.errors.field_bound`), others with the library's
limit (the workers'), looked up when an argument is parsed, so the command and the library
never disagree and ``mgdl --help`` does not import torch. The handlers are :mod:`mgdl_core.cli`.
"""
from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Callable

import numpy as np

MAX_RATES = 10_000  # learning rates in one sweep


class UsageError(Exception):
    """A bad argument: reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _limit(module: str, name: str) -> Callable[[], float]:
    """The library's bound ``mgdl_core.<module>.<name>``, so the CLI and the library never
    disagree; looked up when parsing, because importing the library imports torch."""
    return lambda: getattr(importlib.import_module(f"mgdl_core.{module}"), name)


def _field(module: str, cls: str, name: str) -> Callable[[str], float]:
    """An argparse type for field ``name`` of the configuration ``mgdl_core.<module>.<cls>``: the
    range declared on the field (:class:`mgdl_core.errors.Bound`), read when parsing (importing a
    task imports torch), so an option and the configuration it sets accept the same values."""

    def parse(text: str):
        from .errors import ConfigError, field_bound

        bound = field_bound(getattr(importlib.import_module(f"mgdl_core.{module}"), cls), name)
        try:
            return bound.parse(name, text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


_max_workers = _limit("runs.sweeps", "MAX_WORKERS")
_rate = _field("tasks.base", "RunConfig", "lr")
parse_lam, parse_beta = _field("tasks.restoration", "RestorationRun", "lam"), _field("tasks.restoration", "RestorationRun", "beta")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return value


def _duration(text: str) -> float:
    """An argparse type: a duration, ``90`` (seconds), ``90s``, ``45m`` or ``2h``, above 0 and
    at most a week."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration (e.g. 90s, 45m, 2h): {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= 7 * 86400):
        raise argparse.ArgumentTypeError(f"a duration must be above 0 and at most a week, got {text!r}")
    return value


def _int_in(low: int, high: Callable[[], int]) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high()], written ``20000``, ``2e4`` or ``20_000``
    (``high`` is looked up when parsing: the library's limits import torch)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if math.isnan(number) or (math.isfinite(number) and not number.is_integer()):
                raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
            value = int(number) if math.isfinite(number) else None  # 1e400: out of any range
        top = high()
        if value is None or not low <= value <= top:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {top:_}, got {text!r}")
        return value

    return parse


def parse_rates(text: str, option: str = "--lrs", convert: Callable[[str], float] | None = None) -> list[float]:
    """``LOW:HIGH:COUNT`` (log-spaced, both ends included) or a comma-separated list; at most
    :data:`MAX_RATES` values, each in (0, MAX_LR] (or what ``convert`` accepts, for ``option``)."""
    convert = _rate if convert is None else convert

    def one(part: str) -> float:
        try:
            return convert(part.strip())
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"{option} {text[:40]!r}: {exc}") from None

    def check_count(count: int) -> None:
        if count > MAX_RATES:
            raise UsageError(f"{option} {text[:40]!r}: {count:_} values; a sweep takes at most {MAX_RATES:_}")

    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise UsageError(f"{option} {text!r}: use LOW:HIGH:COUNT, e.g. 0.001:0.5:30, or a list 0.01,0.1")
        low, high = (one(p) for p in parts[:2])
        try:
            count = int(parts[2])
        except ValueError:
            raise UsageError(f"{option} {text!r}: COUNT must be an integer") from None
        if count < 1 or low > high or low <= 0:
            raise UsageError(f"{option} {text!r}: the range is empty (need 0 < LOW <= HIGH and COUNT >= 1)")
        check_count(count)
        return [float(r) for r in np.geomspace(low, high, count)]
    parts = text.split(",")
    if any(not p.strip() for p in parts):
        raise UsageError(f"{option} {text[:40]!r}: an empty item (use LOW:HIGH:COUNT or a list like 0.01,0.1)")
    check_count(len(parts))
    values = [one(p) for p in parts]
    if not values:
        raise UsageError(f"{option} is empty")
    return values


def version_text() -> str:
    """``mgdl <version>``, and the git SHA of the checkout it runs from (``-dirty`` with changes),
    found without importing torch; an installed copy outside a checkout says so."""
    import subprocess
    from pathlib import Path

    from . import __version__

    root = Path(__file__).resolve().parent.parent
    sha = "not a git checkout"
    if (root / ".git").exists():
        try:
            git = lambda *a: subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, timeout=5,
                                            check=True).stdout.strip()
            sha = git("rev-parse", "--short=12", "HEAD") + ("-dirty" if git("status", "--porcelain",
                                                                              "--untracked-files=no") else "")
        except (OSError, subprocess.SubprocessError):
            sha = "git unavailable"
    return f"mgdl {__version__} ({sha}) at {root}"


class _Version(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="the version, and the git SHA of the checkout")

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def _experiment_args(sp: argparse.ArgumentParser) -> None:
    """The options of `mgdl run` and `mgdl sweep` alike: the experiment and its configuration, --out, how it runs."""
    epochs, seed = _field("tasks.base", "RunConfig", "epochs"), _field("tasks.base", "RunConfig", "seed")
    sp.add_argument("experiment", help="experiment name (see `mgdl list`)")
    sp.add_argument("--setting", type=int, choices=(1, 2), default=None, help="synthetic: eq. (5)'s setting (default 1)")
    sp.add_argument("--image", default=None,
                    help="image/restore: one of the paper's images (see `mgdl list`) or a path to an image "
                         "file (default: cameraman; restore: butterfly)")
    sp.add_argument("--problem", choices=("denoise", "deblur"), default=None, help="restore: the task (default denoise)")
    sp.add_argument("--noise", type=_field("tasks.restoration", "RestorationRun", "noise"), default=None, metavar="SIGMA",
                    help="restore: noise σ on the 0–255 scale (denoise, default 10; deblurring adds 3)")
    sp.add_argument("--blur", type=_field("tasks.restoration", "RestorationRun", "blur"), default=None, metavar="SIGMA_HAT",
                    help="restore: the Gaussian blur's σ̂ (deblur: 3, 5, 7 in the paper)")
    sp.add_argument("--lam", type=parse_lam, default=None,
                    help="restore: λ of eq. (18) (default: the authors' best for Butterfly)")
    sp.add_argument("--beta", type=parse_beta, default=None,
                    help="restore: β of eq. (22) (default: the authors' best for Butterfly)")
    sp.add_argument("--section", type=int, choices=(4, 5, 6), default=None,
                    help="image: whose protocol (4: Adam, Table 1; 5: GD, Fig. 15; 6: GD, §6's pixel subsets)")
    sp.add_argument("--optimizer", choices=("gd", "adam"), default=None,
                    help="image: the step (default: the section's, Adam in §4, GD in §5–§6)")
    sp.add_argument("--encoding", choices=("none", "fourier"), default=None,
                    help="image: 'fourier' feeds random Fourier features of the coordinates")
    sp.add_argument("--method", choices=("sgdl", "mgdl", "msdl"), default="mgdl")
    sp.add_argument("--structure", default=None,
                    help="e.g. '(26)' or '[1]->[32]x4->[1]'; MGDL: '(30)' or grades joined by ';'")
    sp.add_argument("--epochs", type=epochs, default=None,
                    help="GD epochs (per grade for MGDL), at most 10^9; default: the profile's")
    sp.add_argument("--profile", choices=("quick", "paper"), default="quick")
    sp.add_argument("--seed", type=seed, default=None,
                    help="PRNG seed of the initial weights, in [0, 2^32) (default 42, the authors' PRNGKey(42))")
    sp.add_argument("--init", choices=("he-jax", "he", "glorot"), default=None,
                    help="he-jax: the authors' draw by JAX's PRNG (default); he: the same law drawn by torch")
    sp.add_argument("--track-every", type=_field("tasks.base", "RunConfig", "track_every"), default=0, metavar="N",
                    help="record the 10+10 extreme eigenvalues of I − ηH every N epochs (§6)")
    sp.add_argument("--relu-prime-at-zero", type=float, default=None, metavar="C",
                    help="ReLU'(0) in the backward pass: 0.5 JAX's, as the authors' §5–§7 runs "
                         "(the default there); 0 PyTorch's (the §4 default)")
    sp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    sp.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    sp.add_argument("--out", default=None, help="record folder (default: $MGDL_RUNS_DIR or runs/ of the checkout, else ./runs)")
    sp.add_argument("--force", action="store_true", help="re-run even when a record exists")
    sp.add_argument("--checkpoint-every", type=_seconds, default=None, metavar="SECONDS",
                    help="seconds between checkpoints (default 60; the first comes 10 s into training)")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON (NaN and infinities as null)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")


_SPELLED_OUT = ("method", "profile")  # written even at their defaults: a command list reads on its own


def _option(flag: str, value) -> list[str]:
    """``flag`` and ``value`` as arguments; a float by its ``repr``, which parses back to the same
    float; ``--flag=value`` when the value starts with ``-`` (``-0.5``, a file ``-x.png``)."""
    text = repr(value) if isinstance(value, float) else str(value)
    return [f"{flag}={text}"] if text.startswith("-") else [flag, text]


def run_argv(args: argparse.Namespace, **values) -> list[str]:
    """The arguments of the ``mgdl run`` (after ``mgdl``) that trains one configuration of the
    sweep ``args`` (parsed ``mgdl sweep`` arguments): that configuration's ``values`` first
    (``lr``, and ``lam``/``beta`` of a restore grid), then every option shared by ``run`` and
    ``sweep`` that the sweep was given a value other than its default (``--method`` and
    ``--profile`` always), ``--out``, ``--force`` and the output options included. The sweep's
    own options (``--lrs``, ``--backend``, ...) are not options of ``run``: the caller refuses
    those that say how a sweep runs (:func:`mgdl_core.cli.sweep_commands`)."""
    shared = _Parser(prog="mgdl run", add_help=False)
    _experiment_args(shared)
    argv = ["run", args.experiment]
    for name, value in values.items():
        argv += _option(f"--{name.replace('_', '-')}", value)
    for action in shared._actions:
        if not action.option_strings or action.dest in values:
            continue
        value = getattr(args, action.dest)
        if value is None or (value == action.default and action.dest not in _SPELLED_OUT):
            continue
        flag = max(action.option_strings, key=len)
        argv += [flag] if action.nargs == 0 else _option(flag, value)  # a store_true flag: given, so True
    return argv



# the sweep's options that say how it runs its configurations: not one run's
_HOW_A_SWEEP_RUNS = {"backend": "auto", "workers": None, "address": None}


def sweep_commands(args, configs: list) -> list[str]:
    """A shell line (``shlex``-quoted) per configuration of the sweep ``args``: the ``mgdl run``
    that trains exactly that configuration, to the same record (the same configuration hash),
    under the same ``--out`` (:func:`mgdl_core.cli_parser.run_argv`). ``--backend``, ``--workers``
    and ``--address`` say how a sweep runs, which one run cannot: refused (:class:`UsageError`)."""
    import shlex

    given = [f"--{name}" for name, default in _HOW_A_SWEEP_RUNS.items() if getattr(args, name) != default]
    if given:
        raise UsageError(f"{' and '.join(given)} say{'s' * (len(given) == 1)} how a sweep runs its configurations; "
                         "with --print-commands each printed `mgdl run` trains one: leave "
                         f"{'it' if len(given) == 1 else 'them'} out")
    grid = [name for name, option in (("lam", args.lams), ("beta", args.betas)) if option is not None]
    return [shlex.join(["mgdl", *run_argv(args, lr=c.lr, **{name: getattr(c, name) for name in grid})])
            for c in configs]

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mgdl", description="Experiments of 'Computational Advantages of Multi-Grade Deep Learning'.")
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="train one configuration (resumes an interrupted run)")
    _experiment_args(run)
    run.add_argument("--lr", type=_rate, default=None,
                     help="learning rate η, in (0, 1000]; required for synthetic, image default: the section's")
    sw = sub.add_parser("sweep", help="train one configuration for many learning rates")
    _experiment_args(sw)
    sw.add_argument("--lrs", required=True,
                    help=f"LOW:HIGH:COUNT (log-spaced) or a list 0.01,0.1; at most {MAX_RATES:_} rates")
    sw.add_argument("--backend", choices=("auto", "serial", "processes", "batched", "ray"), default="auto")
    sw.add_argument("--workers", type=_int_in(1, _max_workers), default=None,
                    help="worker processes (processes backend) or local Ray CPUs (default: one per core)")
    sw.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    sw.add_argument("--lams", default=None, help="restore: λ values too (a list or LOW:HIGH:COUNT), a grid with --lrs")
    sw.add_argument("--betas", default=None, help="restore: β values too (a list or LOW:HIGH:COUNT), a grid with --lrs")
    sw.add_argument("--print-commands", action="store_true",
                    help="train nothing: print one `mgdl run` command per configuration (a line each, "
                         "shell-quoted), for a scheduler's job array")
    sub.add_parser("list", help="the experiments and their profiles")
    runs = sub.add_parser("runs", help="a table of the records and checkpoints under --out (reads only)")
    runs.add_argument("--out", default=None, help="runs folder (default: $MGDL_RUNS_DIR or runs/ of the checkout, else ./runs)")
    runs.add_argument("--kind", default=None, metavar="K",
                      help="only this experiment's runs: synthetic, image or restore (or a kind folder's name)")
    runs.add_argument("--method", choices=("sgdl", "mgdl", "msdl"), default=None,
                      help="only finished records of this method (a checkpoint does not name its method)")
    runs.add_argument("--state", choices=("finished", "partial", "corrupt"), default=None,
                      help="only finished records, checkpoints of interrupted runs, or records that fail verification")
    runs.add_argument("--json", action="store_true", help="print the rows as JSON (NaN as null)")
    show = sub.add_parser("show", help="a record's summary")
    show.add_argument("run", help="a record folder, or a hash (prefix) under --out")
    show.add_argument("--out", default=None)
    show.add_argument("--json", action="store_true")
    doctor = sub.add_parser("doctor", help="verify every record and checkpoint under --out; remove stale temporary folders")
    doctor.add_argument("--out", default=None)
    export = sub.add_parser("export", help="write a finished record as a compact, verified result (results/)")
    export.add_argument("run", help="a record folder, or a hash (prefix) under --out")
    export.add_argument("--name", required=True, help="the result's name, e.g. s6-setting1-sgdl")
    export.add_argument("--out", default=None, help="where the record is (default: $MGDL_RUNS_DIR or runs/)")
    export.add_argument("--results", default=None, help="results folder (default: $MGDL_RESULTS_DIR or results/)")
    export.add_argument("--replay", type=_int_in(0, lambda: 10**6), default=None, metavar="EPOCHS",
                        help="re-train this many epochs with the current code and compare (0: skip; default: "
                             "1,000 for a synthetic run, two recording periods for an image task)")
    paper = sub.add_parser("paper", help="the paper queue: every paper-scale run the book reads (plan, run, export)")
    paper_sub = paper.add_subparsers(dest="paper_command", required=True, parser_class=_Parser)
    for name, text in (("plan", "each paper-scale item: figure, cost on this CPU, where it can run, state"),
                       ("run", "train what is not done, by priority, resumable, until done or --budget"),
                       ("export", "export every finished, not yet committed run under its plan name")):
        sp = paper_sub.add_parser(name, help=text)
        sp.add_argument("--only", default=None, metavar="FIG|NAME",
                        help="only the items whose figure ('Fig. 1') or name ('s5-', 'restoration') matches")
        sp.add_argument("--out", default=None, help="record folder (default: $MGDL_RUNS_DIR or runs/)")
        sp.add_argument("--results", default=None, help="results folder (default: $MGDL_RESULTS_DIR or results/)")
    paper_sub.choices["run"].add_argument("--budget", type=_duration, default=None, metavar="TIME",
                                          help="stop after this long (90s, 45m, 2h), checkpointing the runs in flight")
    paper_sub.choices["run"].add_argument("--workers", type=_int_in(1, _max_workers), default=1,
                                          help="worker processes (default 1)")
    paper_sub.choices["run"].add_argument("--allow-dirty", action="store_true",
                                          help="run from a checkout with uncommitted library changes (the records say -dirty)")
    paper_sub.choices["run"].add_argument("--quiet", action="store_true", help="no progress bar")
    paper_sub.choices["plan"].add_argument("--no-probe", action="store_true",
                                           help="do not time structures never measured here (their cost shows as nan)")
    classical = paper_sub.add_parser("classical", help="Tables 2–3's classical methods on the full-size images "
                                                      "(minutes per cell; resumable), into results/classical/")
    classical.add_argument("--image", action="append", default=None, metavar="NAME",
                           help="only this image (repeatable; default: every image of Tables 2–3)")
    classical.add_argument("--results", default=None, help="results folder (default: $MGDL_RESULTS_DIR or results/)")
    classical.add_argument("--allow-dirty", action="store_true",
                           help="run from a checkout with uncommitted library changes (the file says -dirty)")
    return p
