"""The ``mgdl`` command line: every experiment from a shell, recorded and resumable.

    mgdl run synthetic --setting 1 --method mgdl --lr 0.06 [--epochs N] [--profile quick|paper]
    mgdl sweep synthetic --setting 2 --method sgdl --lrs 0.001:0.5:30
    mgdl run image --image cameraman --section 4 --method mgdl [--profile paper]   (Table 1)
    mgdl sweep image --image barbara --section 5 --method sgdl --lrs 0.001:1:12   (Fig. 15)
    mgdl run image --image ./my_photo.png --section 4 --method sgdl               (your own image)
    mgdl list
    mgdl show RUN
    mgdl doctor [--out DIR]

A thin layer over :mod:`mgdl_core.tasks.base`: a run asked for here and the same run asked for
by a notebook share one record under ``--out`` (default ``runs/``). Ctrl-C or SIGTERM writes a
checkpoint (of every run in flight, for a sweep) and exits 130 or 143; the same command resumes.

Exit status: 0 done; 1 ``doctor`` found problems; 2 a refusal — a bad argument, a configuration
the library refuses, an unusable ``--out``, a corrupt record — always one line on stderr
(``mgdl: error: ...``), before any training; 128 + N stopped by signal N (130 SIGINT, 143 SIGTERM).
``--json`` prints strict JSON: a diverged run's NaN losses (and any infinity) are ``null``.
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import ConfigError, CorruptRecord
from .tasks.images import ImageNotFoundError

EXIT_USAGE = 2
EXIT_PROBLEMS = 1
MAX_RATES = 10_000  # learning rates in one sweep

# The command set: experiment name → what it is. Later experiments (denoising, deblurring) add a row.
COMMANDS = {
    "synthetic": "synthetic regression of §5–§7 (eq. 5), SGDL (26) / MGDL (30) / MSDL",
    "image": "image regression of §4 (Table 1), §5 (Fig. 15) and §6 (Figs 3, 18–20), SGDL / MGDL; "
             "--image NAME or a path to your own file",
    "restore": "denoising / deblurring of §4 (Tables 2–3) and §6 (Figs 21–24) on the ROF objective (Appendix C), "
               "SGDL / MGDL; --problem denoise --noise SIGMA or --problem deblur --blur SIGMA_HAT",
}


class UsageError(Exception):
    """A bad argument: reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _limit(module: str, name: str) -> Callable[[], float]:
    """The library's bound ``mgdl_core.<module>.<name>``, so the CLI and the library never
    disagree; looked up when parsing, because importing the library imports torch."""
    return lambda: getattr(importlib.import_module(f"mgdl_core.{module}"), name)


_max_lr, _max_epochs = _limit("core.training", "MAX_LR"), _limit("core.training", "MAX_EPOCHS")
_max_seed, _max_workers = _limit("tasks.base", "MAX_SEED"), _limit("runs.sweeps", "MAX_WORKERS")


def _positive_float(text: str, high: float = math.inf) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    if value > high:
        raise argparse.ArgumentTypeError(f"must be at most {high:g}, got {text!r}")
    return value


def _rate(text: str) -> float:
    return _positive_float(text, _max_lr())


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


def parse_rates(text: str, option: str = "--lrs", convert: Callable[[str], float] | None = None,
                what: str = "learning rate") -> list[float]:
    """``LOW:HIGH:COUNT`` (log-spaced, both ends included) or a comma-separated list; at most
    :data:`MAX_RATES` values, each in (0, MAX_LR] (or what ``convert`` accepts, for ``option``)."""
    convert = _rate if convert is None else convert

    def one(part: str) -> float:
        try:
            return convert(part.strip())
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"{option} {text[:40]!r}: {what} {exc}") from None

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
    parts = [p for p in text.split(",") if p.strip()]
    check_count(len(parts))
    values = [one(p) for p in parts]
    if not values:
        raise UsageError(f"{option} is empty")
    return values


def _weight(text: str) -> float:
    """λ or β of the ROF objective: a finite number in [0, 10^6]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1e6):
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1e6, got {text!r}")
    return value


def _out(args) -> Path:
    from .runs.records import default_runs_dir

    return Path(args.out) if args.out else default_runs_dir()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mgdl", description="Experiments of 'Computational Advantages of Multi-Grade Deep Learning'.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    epochs, seed = _int_in(1, _max_epochs), _int_in(0, _max_seed)

    def experiment_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("experiment", help="experiment name (see `mgdl list`)")
        sp.add_argument("--setting", type=int, choices=(1, 2), default=1, help="synthetic: eq. (5)'s setting")
        sp.add_argument("--image", default=None,
                        help="image/restore: one of the paper's images (see `mgdl list`) or a path to an image "
                             "file (default: cameraman; restore: butterfly)")
        sp.add_argument("--problem", choices=("denoise", "deblur"), default="denoise", help="restore: the task")
        sp.add_argument("--noise", type=lambda t: _positive_float(t, 255.0), default=None, metavar="SIGMA",
                        help="restore: noise σ on the 0–255 scale (denoise, default 10; deblurring adds 3)")
        sp.add_argument("--blur", type=lambda t: _positive_float(t, 100.0), default=None, metavar="SIGMA_HAT",
                        help="restore: the Gaussian blur's σ̂ (deblur: 3, 5, 7 in the paper)")
        sp.add_argument("--lam", type=_weight, default=None,
                        help="restore: λ of eq. (18) (default: the authors' best for Butterfly)")
        sp.add_argument("--beta", type=_weight, default=None,
                        help="restore: β of eq. (22) (default: the authors' best for Butterfly)")
        sp.add_argument("--section", type=int, choices=(4, 5, 6), default=4,
                        help="image: whose protocol (4: Adam, Table 1; 5: GD, Fig. 15; 6: GD, §6's pixel subsets)")
        sp.add_argument("--optimizer", choices=("gd", "adam"), default=None,
                        help="image: the step (default: the section's, Adam in §4, GD in §5–§6)")
        sp.add_argument("--encoding", choices=("none", "fourier"), default="none",
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
        sp.add_argument("--track-every", type=_int_in(0, _max_epochs), default=0, metavar="N",
                        help="record the 10+10 extreme eigenvalues of I − ηH every N epochs (§6)")
        sp.add_argument("--relu-prime-at-zero", type=float, default=None, metavar="C",
                        help="ReLU'(0) in the backward pass: 0.5 JAX's, as the authors' §5–§7 runs "
                             "(the default there); 0 PyTorch's (the §4 default)")
        sp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
        sp.add_argument("--dtype", choices=("float32", "float64"), default="float32")
        sp.add_argument("--out", default=None, help="record folder (default: $MGDL_RUNS_DIR or runs/ in the project)")
        sp.add_argument("--force", action="store_true", help="re-run even when a record exists")
        sp.add_argument("--checkpoint-every", type=_seconds, default=None, metavar="SECONDS",
                        help="seconds between checkpoints (default 60; the first comes 10 s into training)")
        sp.add_argument("--json", action="store_true", help="print the summary as JSON (NaN and infinities as null)")
        sp.add_argument("--quiet", action="store_true", help="no progress bar")

    run = sub.add_parser("run", help="train one configuration (resumes an interrupted run)")
    experiment_args(run)
    run.add_argument("--lr", type=_rate, default=None,
                     help="learning rate η, in (0, 1000]; required for synthetic, image default: the section's")
    sw = sub.add_parser("sweep", help="train one configuration for many learning rates")
    experiment_args(sw)
    sw.add_argument("--lrs", required=True,
                    help=f"LOW:HIGH:COUNT (log-spaced) or a list 0.01,0.1; at most {MAX_RATES:_} rates")
    sw.add_argument("--backend", choices=("auto", "serial", "processes", "batched", "ray"), default="auto")
    sw.add_argument("--workers", type=_int_in(1, _max_workers), default=None,
                    help="worker processes (processes backend) or local Ray CPUs (default: one per core)")
    sw.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    sw.add_argument("--lams", default=None, help="restore: λ values too (a list or LOW:HIGH:COUNT), a grid with --lrs")
    sw.add_argument("--betas", default=None, help="restore: β values too (a list or LOW:HIGH:COUNT), a grid with --lrs")
    sub.add_parser("list", help="the experiments and their profiles")
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


def _config(args, lr: float | None):
    from .tasks.synthetic import SyntheticRun
    from .tasks.base import check_profile
    from .tasks.image_regression import ImageRegressionRun

    if args.experiment not in COMMANDS:
        raise UsageError(f"unknown experiment {args.experiment!r}: available: {', '.join(COMMANDS)}")
    if lr is None and args.experiment == "synthetic":
        raise UsageError("the following arguments are required: --lr")
    if args.device not in (None, "auto"):
        from .runtime import get_device

        try:
            get_device(args.device)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    overrides = dict(method=args.method, dtype=args.dtype, device=args.device, structure=args.structure,
                     track_every=args.track_every)
    given = dict(lr=lr, epochs=args.epochs, seed=args.seed, init=args.init, relu_prime_at_zero=args.relu_prime_at_zero)
    overrides.update({k: v for k, v in given.items() if v is not None})
    if args.experiment == "synthetic":
        cls, overrides["setting"] = SyntheticRun, args.setting
    elif args.experiment == "restore":
        from .tasks.restoration import RestorationRun

        cls = RestorationRun
        if args.method == "msdl" or args.section == 5:
            raise UsageError("restore trains --method sgdl or mgdl, in --section 4 or 6")
        overrides.update(image=args.image or "butterfly", section=args.section, problem=args.problem)
        if args.problem == "deblur":
            if args.blur is None:
                raise UsageError("--problem deblur needs --blur SIGMA_HAT (the paper's 3, 5 or 7)")
            if args.noise is not None:
                raise UsageError("--noise is denoising's: a blurred image gets the paper's noise σ = 3")
            overrides["blur"] = args.blur
        else:
            if args.blur is not None:
                raise UsageError("--blur is deblurring's: add --problem deblur")
            overrides["noise"] = 10.0 if args.noise is None else args.noise
        for name in ("lam", "beta", "optimizer"):
            if getattr(args, name) is not None:
                overrides[name] = getattr(args, name)
    else:
        cls = ImageRegressionRun
        overrides.update(image=args.image or "cameraman", section=args.section, encoding=args.encoding)
        if args.optimizer is not None:
            overrides["optimizer"] = args.optimizer
    try:
        return cls.profile(check_profile(args.profile), **overrides)
    except ValueError as exc:  # ConfigError, or a check of another module (structure, dtype)
        raise UsageError(str(exc)) from None


def _writable_out(args) -> Path:
    """``--out``, created and probed before any training (a bad one costs nothing)."""
    from .runs.files import ensure_writable

    return ensure_writable(_out(args))


def _every(args) -> dict:
    return {} if args.checkpoint_every is None else {"every_seconds": args.checkpoint_every}


def summary_dict(summary) -> dict:
    import dataclasses

    return {"config": dataclasses.asdict(summary.config), "outcome": summary.outcome,
            "diverged_epoch": summary.diverged_epoch, "train_loss": summary.train_loss,
            "val_loss": summary.val_loss, "test_loss": summary.test_loss,
            "grade_train_losses": summary.grade_train_losses, "epochs_run": summary.epochs_run,
            "seconds": round(summary.seconds, 3)}


def _print_json(obj) -> None:
    from .runs.files import to_json

    print(to_json(obj))


def _print_summary(summary, as_json: bool, folder: Path | None = None) -> None:
    d = summary_dict(summary)
    if folder is not None:
        d["record"] = str(folder)
    if as_json:
        _print_json(d)
        return
    c = summary.config
    task = f"setting {c.setting}" if c.kind == "synthetic" else f"{c.image} (§{c.section})"
    if c.kind == "restoration":
        task += f" {c.problem} " + (f"σ={c.noise:g}" if c.problem == "denoise" else f"σ̂={c.blur:g}")
    print(f"{c.kind} {task} {c.method.upper()} η={c.lr:g}: {summary.outcome}"
          + (f" at epoch {summary.diverged_epoch}" if summary.diverged_epoch is not None else "")
          + f", {summary.epochs_run} epochs, {summary.seconds:.1f} s")
    if c.kind == "restoration":
        print(f"  objective (22)/(24) at the end: {summary.train_loss:.4e}")
    else:
        print(f"  loss (0.5·MSE): train {summary.train_loss:.4e}  val {summary.val_loss:.4e}  test {summary.test_loss:.4e}")
    if c.kind == "image_regression" and not summary.diverged:
        from .tasks.grids import psnr_from_loss

        print(f"  PSNR (eq. 34): TrPSNR {psnr_from_loss(summary.train_loss):.2f} dB  "
              f"TePSNR {psnr_from_loss(summary.test_loss):.2f} dB (every pixel)")
    if c.kind == "restoration" and not summary.diverged:
        from .tasks.restoration import grade_psnrs, restoration_psnr

        print(f"  PSNR against the clean image: {restoration_psnr(summary):.2f} dB"
              + (" (after each grade: " + ", ".join(f"{p:.2f}" for p in grade_psnrs(summary)) + ")"
                 if c.method == "mgdl" else ""))
    if summary.grade_train_losses:
        print("  after each grade: " + "  ".join(f"{v:.3e}" for v in summary.grade_train_losses))
    if folder is not None:
        print(f"  record: {folder}")


def _cmd_run(args) -> int:
    from .runs.recorded import run_recorded
    from .runs.records import record_dir
    from .core.training import ProgressBar

    config = _config(args, args.lr)
    out = _writable_out(args)
    bars = [] if args.quiet else [ProgressBar(every=1000, desc=f"{config.method} η={config.lr:g}")]
    summary = run_recorded(config, out, force=args.force, callbacks=bars, **_every(args))
    _print_summary(summary, args.json, record_dir(out, config.kind, config))
    return 0


def _cmd_sweep(args) -> int:
    from .runs.sweeps import sweep

    if args.address is not None and args.backend != "ray":
        raise UsageError("--address is the Ray cluster's: use it with --backend ray")
    configs = [_config(args, lr) for lr in parse_rates(args.lrs)]
    if args.lams is not None or args.betas is not None:
        if args.experiment != "restore":
            raise UsageError("--lams and --betas are restore's (the (λ, β, lr) grid of Appendix C)")
        lams = parse_rates(args.lams, "--lams", _weight, "λ") if args.lams is not None else [None]
        betas = parse_rates(args.betas, "--betas", _weight, "β") if args.betas is not None else [None]
        configs = [c.replace(**({"lam": lam} if lam is not None else {}), **({"beta": beta} if beta is not None else {}))
                   for c in configs for lam in lams for beta in betas]
    if args.backend == "batched" and (args.method == "msdl" or args.track_every):
        raise UsageError("--backend batched runs SGDL and MGDL without --track-every; use processes or serial")
    # sweep() checks --out (and that Ray is there, for --backend ray) before any run
    results = sweep(configs, backend=args.backend, workers=args.workers, out=_out(args), force=args.force,
                    progress=not args.quiet and sys.stderr.isatty(), address=args.address,
                    checkpoint_every=args.checkpoint_every)
    if args.json:
        _print_json([summary_dict(r) for r in results])
    else:
        if args.experiment == "restore":
            from .tasks.restoration import restoration_psnr

            print(f"{'η':>10} {'λ':>10} {'β':>10} {'outcome':>14} {'PSNR':>7}")
            for r in results:
                c = r.config
                print(f"{c.lr:10.4g} {c.lam:10.4g} {c.beta:10.4g} {r.outcome:>14} {restoration_psnr(r):7.2f}")
            return 0
        print(f"{'η':>10} {'outcome':>14} {'train loss':>12} {'test loss':>12}")
        for r in results:
            print(f"{r.config.lr:10.4g} {r.outcome:>14} {r.train_loss:12.4e} {r.test_loss:12.4e}")
    return 0


def _cmd_list(args) -> int:
    from .tasks.base import PROFILES
    from .tasks.image_regression import SECTION_PROFILES
    from .tasks.images import available_images

    for name, what in COMMANDS.items():
        print(f"{name}: {what}")
        if name == "synthetic":
            for prof, values in PROFILES.items():
                print(f"  --profile {prof}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
            continue
        print(f"  --image: {', '.join(available_images())}, or a file path")
        if name == "restore":
            from .tasks.restoration import RESTORATION_PROFILES

            for section, profiles in RESTORATION_PROFILES.items():
                for prof, values in profiles.items():
                    print(f"  --section {section} --profile {prof}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
            continue
        for section, profiles in SECTION_PROFILES.items():
            for prof, values in profiles.items():
                print(f"  --section {section} --profile {prof}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    return 0


def _record_folder(args) -> Path:
    """``args.run`` as a record folder, or the one record under --out whose hash starts with it."""
    from .runs.records import is_complete

    folder = Path(args.run)
    if not is_complete(folder):
        matches = [p for p in _out(args).glob(f"*/{args.run}*") if is_complete(p)]
        if len(matches) != 1:
            raise UsageError(f"no record {args.run!r} under {_out(args)}/" if not matches else
                             f"{args.run!r} matches {len(matches)} records; give more of the hash")
        folder = matches[0]
    return folder


def _cmd_show(args) -> int:
    from .runs.recorded import load_record

    folder = _record_folder(args)
    _print_summary(load_record(folder), args.json, folder)  # a corrupt record: CorruptRecord, exit 2
    return 0


def _cmd_export(args) -> int:
    """Export a record into the results folder: written aside, read back verified and, unless
    --replay 0, its first epochs replayed with this code; it replaces an older result of that
    name only then (exit 1, nothing replaced, when the replay does not match)."""
    from .runs.results import ReplayMismatch, export_result, read_result, replay_epochs, replay_result, result_text

    try:
        folder = export_result(_record_folder(args), args.name, args.results, replay=args.replay)
    except ReplayMismatch as exc:
        print(f"mgdl: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    result = read_result(folder)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{folder} ({size / 1024:.0f} KiB)\n  {result_text(result)}")
    if args.replay != 0:
        replay = replay_result(result, args.replay or replay_epochs(result))  # again, to report its figures
        print(f"  replay of {replay.epochs:,} epochs: {replay.rows} rows, largest relative difference "
              f"{replay.max_rel_diff:.2g} (tolerance {replay.rtol:g}): ok")
    return 0


def _cmd_doctor(args) -> int:
    """Every record and checkpoint under --out read back and verified; exit 1 if any fails."""
    from .runs.recorded import check_runs_dir

    out = _out(args)
    problems = check_runs_dir(out)  # also removes what killed writers left behind
    for _, problem in problems:
        print(problem)
    n = len(problems)
    print(f"{out}: {n} corrupt record{'s' * (n != 1)} or checkpoint{'s' * (n != 1)}" if n else
          f"{out}: every record and checkpoint verifies")
    return EXIT_PROBLEMS if n else 0


def _cmd_paper(args) -> int:
    """``mgdl paper plan|run|export`` (:mod:`mgdl_core.pages.paper`)."""
    from .pages import paper

    if args.paper_command == "classical":
        return _cmd_paper_classical(args)
    items = paper.select(paper.paper_items(), args.only)
    out, results = _out(args), args.results
    if args.paper_command == "plan":
        print(paper.plan_table(paper.plan_rows(items, out, results, probe=not args.no_probe)))
        return 0
    if args.paper_command == "export":
        folders = paper.export_finished(items, out, results)
        for folder in folders:
            print(folder)
        print(f"{len(folders)} result{'s' * (len(folders) != 1)} exported")
        return 0
    dirty = paper.library_is_dirty()
    if dirty and not args.allow_dirty:
        raise UsageError("the library has uncommitted changes: a result's SHA would name code that exists nowhere; "
                         "commit first, run from a clean worktree, or pass --allow-dirty")
    todo = paper.queue(items, out, results)
    hours = sum(paper.estimate_seconds(todo, results).values()) / 3600
    print(f"the paper queue: {len(todo)} run{'s' * (len(todo) != 1)} to train, about {hours:.1f} core-hours"
          + (f", budget {args.budget / 3600:.2f} h" if args.budget else ""), flush=True)
    done, stopped = paper.run_queue(todo, budget_s=args.budget, workers=args.workers, runs=out,
                                    progress=False if args.quiet else None)
    print(f"{done} of {len(todo)} finished" + ("; the budget ran out, the runs in flight are checkpointed: "
                                                "run it again to go on" if stopped else "")
          + "; `mgdl paper export` exports them")
    return 0


def _cmd_paper_classical(args) -> int:
    """``mgdl paper classical``: :func:`mgdl_core.pages.classical_full.compute` into the results folder."""
    from .pages import classical_full, paper

    configs = classical_full.cell_configs(args.image)  # an unknown image: one line, before any work
    if paper.library_is_dirty() and not args.allow_dirty:
        raise UsageError("the library has uncommitted changes: the file's SHA would name code that exists nowhere; "
                         "commit first, run from a clean worktree, or pass --allow-dirty")
    path = classical_full.default_path(args.results)
    print(f"Tables 2–3, classical methods on the full-size images: {len(configs)} cells into {path}", flush=True)
    classical_full.compute(path, args.image, progress=lambda line: print(line, flush=True))
    return 0


HANDLERS = {"paper": _cmd_paper, "run": _cmd_run, "sweep": _cmd_sweep, "list": _cmd_list, "show": _cmd_show, "doctor": _cmd_doctor,
            "export": _cmd_export}


def main(argv: list[str] | None = None) -> int:
    got: dict[str, int] = {}  # the signal that stopped a run or sweep, when it came outside training
    args = None
    try:
        args = build_parser().parse_args(argv)
        if args.command not in ("run", "sweep", "paper") or getattr(args, "paper_command", "run") != "run":
            return HANDLERS[args.command](args)
        from .runs.sweeps import stopping_signals  # SIGTERM stops like Ctrl-C

        with stopping_signals() as got:
            return HANDLERS[args.command](args)
    except (UsageError, ConfigError, CorruptRecord) as exc:
        print(f"mgdl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImageNotFoundError as exc:  # where it looked, then how to fix it: the first and last lines
        lines = str(exc).splitlines()
        print(f"mgdl: error: {lines[0]} {lines[-1] if len(lines) > 1 else ''}".rstrip(), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `mgdl list | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt as exc:
        return _interrupted(exc, got, args)


def _interrupted(exc: KeyboardInterrupt, got: dict, args) -> int:
    """One line on stderr and the exit status 128 + the signal (130 SIGINT, 143 SIGTERM)."""
    signum = getattr(exc, "signum", None) or got.get("signum") or signal.SIGINT
    text = str(exc)  # a run's or a sweep's interruption says what it saved and how to resume
    if not text:  # a bare KeyboardInterrupt, outside any run's training
        text = f"interrupted by {signal.Signals(signum).name}"
        if args is not None and args.command in ("run", "sweep"):
            text += "; run the same command again to resume"
    if getattr(args, "force", False):
        text += " (without --force, which would start over)"
    newline = "\n" if sys.stderr.isatty() else ""  # past a progress bar's line
    print(f"{newline}mgdl: {text}", file=sys.stderr)
    return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
