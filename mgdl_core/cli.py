"""The ``mgdl`` command line: every experiment from a shell, recorded and resumable.

    mgdl run synthetic --setting 1 --method mgdl --lr 0.06 [--epochs N] [--profile quick|paper]
    mgdl sweep synthetic --setting 2 --method sgdl --lrs 0.001:0.5:30
    mgdl list
    mgdl show RUN

A thin layer over :mod:`mgdl_core.experiments`: a run asked for here and the same run asked for
by a notebook share one record under ``--out`` (default ``runs/``). Ctrl-C writes a checkpoint;
the same command resumes. Every bad argument is one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# The command set: experiment name → (config class path, what it is). Later experiments (image
# regression, denoising, deblurring) add a row here.
COMMANDS = {
    "synthetic": "synthetic regression of §5–§7 (eq. 5), SGDL (26) / MGDL (30) / MSDL",
}


class UsageError(Exception):
    """A bad argument: reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def parse_rates(text: str) -> list[float]:
    """``LOW:HIGH:COUNT`` (log-spaced, both ends included) or a comma-separated list."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise UsageError(f"--lrs {text!r}: use LOW:HIGH:COUNT, e.g. 0.001:0.5:30, or a list 0.01,0.1")
        low, high = (_as_rate(p, text) for p in parts[:2])
        try:
            count = int(parts[2])
        except ValueError:
            raise UsageError(f"--lrs {text!r}: COUNT must be an integer") from None
        if count < 1 or low > high:
            raise UsageError(f"--lrs {text!r}: the range is empty (need LOW <= HIGH and COUNT >= 1)")
        return [float(r) for r in np.geomspace(low, high, count)]
    rates = [_as_rate(p, text) for p in text.split(",") if p.strip()]
    if not rates:
        raise UsageError("--lrs is empty")
    return rates


def _as_rate(part: str, whole: str) -> float:
    try:
        return _positive_float(part.strip())
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--lrs {whole!r}: learning rate {exc}") from None


def _out(args) -> Path:
    from .records import default_runs_dir

    return Path(args.out) if args.out else default_runs_dir()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mgdl", description="Experiments of 'Computational Advantages of Multi-Grade Deep Learning'.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def experiment_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("experiment", help="experiment name (see `mgdl list`)")
        sp.add_argument("--setting", type=int, choices=(1, 2), default=1)
        sp.add_argument("--method", choices=("sgdl", "mgdl", "msdl"), default="mgdl")
        sp.add_argument("--structure", default=None,
                        help="e.g. '(26)' or '[1]->[32]x4->[1]'; MGDL: '(30)' or grades joined by ';'")
        sp.add_argument("--epochs", type=_positive_int, default=None,
                        help="GD epochs (per grade for MGDL); default: the profile's")
        sp.add_argument("--profile", choices=("quick", "paper"), default="quick")
        sp.add_argument("--seed", type=int, default=None,
                        help="PRNG seed of the initial weights (default 42, the authors' PRNGKey(42))")
        sp.add_argument("--init", choices=("he-jax", "he", "glorot"), default=None,
                        help="he-jax: the authors' draw by JAX's PRNG (default); he: the same law drawn by torch")
        sp.add_argument("--track-every", type=int, default=0, metavar="N",
                        help="record the 10+10 extreme eigenvalues of I − ηH every N epochs (§6)")
        sp.add_argument("--relu-prime-at-zero", type=float, default=0.5, metavar="C",
                        help="ReLU'(0) in the backward pass: 0.5 JAX's, as the authors' runs (default); 0 PyTorch's")
        sp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
        sp.add_argument("--dtype", choices=("float32", "float64"), default="float32")
        sp.add_argument("--out", default=None, help="record folder (default: $MGDL_RUNS_DIR or runs/ in the project)")
        sp.add_argument("--force", action="store_true", help="re-run even when a record exists")
        sp.add_argument("--json", action="store_true", help="print the summary as one JSON object")
        sp.add_argument("--quiet", action="store_true", help="no progress bar")

    run = sub.add_parser("run", help="train one configuration (resumes an interrupted run)")
    experiment_args(run)
    run.add_argument("--lr", type=_positive_float, required=True, help="learning rate η")
    sw = sub.add_parser("sweep", help="train one configuration for many learning rates")
    experiment_args(sw)
    sw.add_argument("--lrs", required=True, help="LOW:HIGH:COUNT (log-spaced) or a list 0.01,0.1")
    sw.add_argument("--backend", choices=("auto", "serial", "processes", "batched", "ray"), default="auto")
    sw.add_argument("--workers", type=_positive_int, default=None)
    sw.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    sub.add_parser("list", help="the experiments and their profiles")
    show = sub.add_parser("show", help="a record's summary")
    show.add_argument("run", help="a record folder, or a hash (prefix) under --out")
    show.add_argument("--out", default=None)
    show.add_argument("--json", action="store_true")
    return p


def _config(args, lr: float):
    from .experiments import SyntheticRun, check_profile

    if args.experiment not in COMMANDS:
        raise UsageError(f"unknown experiment {args.experiment!r}: available: {', '.join(COMMANDS)}")
    if args.device not in (None, "auto"):
        from .runtime import get_device

        try:
            get_device(args.device)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.track_every < 0:
        raise UsageError(f"--track-every must be >= 0, got {args.track_every}")
    overrides = dict(setting=args.setting, method=args.method, lr=lr, dtype=args.dtype,
                     device=args.device, structure=args.structure, track_every=args.track_every,
                     relu_prime_at_zero=args.relu_prime_at_zero)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.init is not None:
        overrides["init"] = args.init
    try:
        return SyntheticRun.profile(check_profile(args.profile), **overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def summary_dict(summary) -> dict:
    import dataclasses

    return {"config": dataclasses.asdict(summary.config), "outcome": summary.outcome,
            "diverged_epoch": summary.diverged_epoch, "train_loss": summary.train_loss,
            "val_loss": summary.val_loss, "test_loss": summary.test_loss,
            "grade_train_losses": summary.grade_train_losses, "epochs_run": summary.epochs_run,
            "seconds": round(summary.seconds, 3)}


def _print_summary(summary, as_json: bool, folder: Path | None = None) -> None:
    d = summary_dict(summary)
    if folder is not None:
        d["record"] = str(folder)
    if as_json:
        print(json.dumps(d, default=float))
        return
    c = summary.config
    task = f"setting {c.setting}" if c.kind == "synthetic" else f"{c.image} (§{c.section})"
    print(f"{c.kind} {task} {c.method.upper()} η={c.lr:g}: {summary.outcome}"
          + (f" at epoch {summary.diverged_epoch}" if summary.diverged_epoch is not None else "")
          + f", {summary.epochs_run} epochs, {summary.seconds:.1f} s")
    print(f"  loss (0.5·MSE): train {summary.train_loss:.4e}  val {summary.val_loss:.4e}  test {summary.test_loss:.4e}")
    if summary.grade_train_losses:
        print("  after each grade: " + "  ".join(f"{v:.3e}" for v in summary.grade_train_losses))
    if folder is not None:
        print(f"  record: {folder}")


def _cmd_run(args) -> int:
    from .experiments import run_recorded
    from .records import record_dir
    from .train import ProgressBar

    config = _config(args, args.lr)
    bars = [] if args.quiet else [ProgressBar(every=1000, desc=f"{config.method} η={config.lr:g}")]
    summary = run_recorded(config, _out(args), force=args.force, callbacks=bars)
    _print_summary(summary, args.json, record_dir(_out(args), config.kind, config))
    return 0


def _cmd_sweep(args) -> int:
    from .sweep import sweep

    configs = [_config(args, lr) for lr in parse_rates(args.lrs)]
    if args.backend == "batched" and (args.method == "msdl" or args.track_every):
        raise UsageError("--backend batched runs SGDL and MGDL without --track-every; use processes or serial")
    results = sweep(configs, backend=args.backend, workers=args.workers, out=_out(args), force=args.force,
                    progress=not args.quiet and sys.stderr.isatty(), address=args.address)
    if args.json:
        print(json.dumps([summary_dict(r) for r in results], default=float))
    else:
        print(f"{'η':>10} {'outcome':>14} {'train loss':>12} {'test loss':>12}")
        for r in results:
            print(f"{r.config.lr:10.4g} {r.outcome:>14} {r.train_loss:12.4e} {r.test_loss:12.4e}")
    return 0


def _cmd_list(args) -> int:
    from .experiments import PROFILES

    for name, what in COMMANDS.items():
        print(f"{name}: {what}")
        for prof, values in PROFILES.items():
            print(f"  --profile {prof}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    return 0


def _cmd_show(args) -> int:
    from .experiments import load_record
    from .records import is_complete

    folder = Path(args.run)
    if not is_complete(folder):
        matches = [p for p in _out(args).glob(f"*/{args.run}*") if is_complete(p)]
        if len(matches) != 1:
            raise UsageError(f"no record {args.run!r} under {_out(args)}/" if not matches else
                             f"{args.run!r} matches {len(matches)} records; give more of the hash")
        folder = matches[0]
    _print_summary(load_record(folder), args.json, folder)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler = {"run": _cmd_run, "sweep": _cmd_sweep, "list": _cmd_list, "show": _cmd_show}[args.command]
        return handler(args)
    except UsageError as exc:
        print(f"mgdl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `mgdl list | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt as exc:
        print(f"\nmgdl: {exc or 'interrupted'}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
