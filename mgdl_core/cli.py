"""The ``mgdl`` command line: every experiment from a shell, recorded and resumable.

    mgdl run synthetic --setting 1 --method mgdl --lr 0.06 [--epochs N] [--profile quick|paper]
    mgdl sweep synthetic --setting 2 --method sgdl --lrs 0.001:0.5:30
    mgdl run image --image cameraman --section 4 --method mgdl [--profile paper]   (Table 1)
    mgdl sweep image --image barbara --section 5 --method sgdl --lrs 0.001:1:12   (Fig. 15)
    mgdl run image --image ./my_photo.png --section 4 --method sgdl               (your own image)
    mgdl sweep synthetic --method sgdl --lrs 0.001:0.5:30 --print-commands > cmds.txt   (a job array's lines)
    mgdl list
    mgdl runs [--out DIR] [--kind K] [--method M] [--state finished|partial|corrupt] [--json]
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

import dataclasses
import os
import signal
import sys
import warnings
from pathlib import Path

from .cli_parser import (MAX_RATES, UsageError, build_parser, parse_beta, parse_lam, parse_rates,
                         sweep_commands)
from .errors import ConfigError, CorruptRecord, check_path_text
from .tasks.images import ImageNotFoundError

EXIT_USAGE = 2
EXIT_PROBLEMS = 1


def commands() -> dict:
    """The tasks by their command name (``synthetic``, ``image``, ``restore``): each says what its
    options set, how its runs print, what its profiles are (:class:`~mgdl_core.tasks.base.RunConfig`)."""
    from .tasks.kinds import KINDS

    return {cls.command: cls for cls in KINDS.values()}


def _out(args) -> Path:
    from .runs.records import default_runs_dir

    return default_runs_dir() if args.out is None else check_path_text(args.out, "--out")


def _results(args) -> Path | None:
    """``--results`` (None: the default, $MGDL_RESULTS_DIR or results/); an empty or unusable one is refused."""
    return None if args.results is None else check_path_text(args.results, "--results")


def _config(args, lr: float | None):
    from .tasks.base import check_profile

    tasks = commands()
    if args.experiment not in tasks:
        raise UsageError(f"unknown experiment {args.experiment!r}: available: {', '.join(tasks)}")
    cls = tasks[args.experiment]
    for name in sorted({o for task in tasks.values() for o in task.options} - set(cls.options)):
        if getattr(args, name, None) is not None:
            owners = [c for c, task in tasks.items() if name in task.options]
            raise UsageError(f"--{name} is an option of {' and '.join(owners)}, not of {args.experiment}")
    try:
        fields = cls.cli_fields(args, lr)  # the task's options first: a missing --lr before a bad --device
    except ValueError as exc:
        raise UsageError(str(exc)) from None
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
    overrides.update(fields)
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
    print("\n".join(summary.config.summary_lines(summary)))
    if summary.grade_train_losses:
        print("  after each grade: " + "  ".join(f"{v:.3e}" for v in summary.grade_train_losses))
    if folder is not None:
        print(f"  record: {folder}")


def run_config(args):
    """The configuration parsed ``mgdl run`` arguments train (its record: ``record_dir``)."""
    return _config(args, args.lr)


def _cmd_run(args) -> int:
    from .core.progress import ProgressBar
    from .runs.recorded import load_record, run_recorded
    from .runs.records import is_complete, record_dir

    config = run_config(args)
    folder = record_dir(_out(args), config.kind, config)
    if not args.force and is_complete(folder):  # served as it is: a read-only --out serves its records
        _print_summary(load_record(folder), args.json, folder)
        return 0
    config.check_inputs()  # its image found and unchanged, before the folder, the lock and training
    out = _writable_out(args)
    bars = [] if args.quiet else [ProgressBar(every=1000, desc=f"{config.method} η={config.lr:g}")]
    summary = run_recorded(config, out, force=args.force, callbacks=bars, **_every(args))
    _print_summary(summary, args.json, record_dir(out, config.kind, config))
    return 0


def sweep_configs(args) -> list:
    """The configurations parsed ``mgdl sweep`` arguments stand for, in the order they run:
    each learning rate (each λ, each β of a restore grid) of the experiment's configuration."""
    configs = [_config(args, lr) for lr in parse_rates(args.lrs)]
    if args.lams is not None or args.betas is not None:
        if not {"lam", "beta"} <= {f.name for f in dataclasses.fields(configs[0])}:
            raise UsageError("--lams and --betas are restore's (the (λ, β, lr) grid of Appendix C)")
        lams = parse_rates(args.lams, "--lams", parse_lam) if args.lams is not None else [None]
        betas = parse_rates(args.betas, "--betas", parse_beta) if args.betas is not None else [None]
        if len(configs) * len(lams) * len(betas) > MAX_RATES:
            raise UsageError(f"--lrs × --lams × --betas is {len(configs) * len(lams) * len(betas):_} runs; "
                             f"a sweep takes at most {MAX_RATES:_}")
        configs = [c.replace(**({"lam": lam} if lam is not None else {}), **({"beta": beta} if beta is not None else {}))
                   for c in configs for lam in lams for beta in betas]
    return configs


def _cmd_sweep(args) -> int:
    from .runs.sweeps import sweep

    if args.address is not None and args.backend != "ray" and not args.print_commands:
        raise UsageError("--address is the Ray cluster's: use it with --backend ray")
    configs = sweep_configs(args)
    lines = sweep_commands(args, configs) if args.print_commands else None
    configs[0].check_inputs()  # one image for every run: found and unchanged before any work
    if lines is not None:  # nothing trained, --out untouched: the job array's lines
        print("\n".join(lines))
        return 0
    if args.backend == "batched" and (args.method == "msdl" or args.track_every):
        raise UsageError("--backend batched runs SGDL and MGDL without --track-every; use processes or serial")
    # sweep() checks --out (and that Ray is there, for --backend ray) before any run
    results = sweep(configs, backend=args.backend, workers=args.workers, out=_out(args), force=args.force,
                    progress=False if args.quiet else None, address=args.address,
                    checkpoint_every=args.checkpoint_every)
    if args.json:
        _print_json([summary_dict(r) for r in results])
    else:
        print("\n".join(type(configs[0]).sweep_table(results)))
    return 0


def _cmd_runs(args) -> int:
    """A row per record and checkpoint under --out (:mod:`mgdl_core.runs.listing`); reads only."""
    from .runs.listing import list_runs, runs_count, runs_table

    kinds = {name: task.kind for name, task in commands().items()}
    kind = args.kind
    if kind is not None and kind not in kinds.values():
        if kind not in kinds:
            raise UsageError(f"unknown --kind {kind!r}: use one of "
                             + ", ".join(f"{name} ({k})" if name != k else name for name, k in kinds.items()))
        kind = kinds[kind]
    out = _out(args)
    rows = list_runs(out, kind=kind, method=args.method, state=args.state)  # a missing --out: ConfigError
    if args.json:
        _print_json([r.as_dict() for r in rows])
        return 0
    filters = ", ".join(f"--{name} {getattr(args, name)}" for name in ("kind", "method", "state")
                        if getattr(args, name) is not None)
    if not rows:
        print(f"no records under {out}" + (f" match {filters}" if filters else ""))
        return 0
    print("\n".join(runs_table(rows)))
    print(runs_count(rows, out, filters))
    return 0


def _cmd_list(args) -> int:
    for name, task in commands().items():
        print(f"{name}: {task.about}")
        for line in task.profile_lines():
            print(f"  {line}")
    return 0


def _record_folder(args) -> Path:
    """``args.run`` as a record folder, or the one record under --out whose hash starts with it
    (a hex prefix, never a pattern: :func:`mgdl_core.runs.recorded.find_record`)."""
    from .runs.recorded import find_record

    return find_record(_out(args), args.run)


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
        folder = export_result(_record_folder(args), args.name, _results(args), replay=args.replay)
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
    check = check_runs_dir(out)  # also removes what dead writers left behind
    for _, problem in [*check, *check.unreadable]:
        print(problem)
    n = len(check)
    print(f"{out}: {check.records} record{'s' * (check.records != 1)} and {check.checkpoints} "
          f"checkpoint{'s' * (check.checkpoints != 1)} read"
          + (f", {check.removed} leftover{'s' * (check.removed != 1)} of dead writers removed" if check.removed else "")
          + (f": {n} corrupt" if n else ": every one verifies")
          + (f"; {len(check.unreadable)} this code cannot read (intact)" if check.unreadable else ""))
    return EXIT_PROBLEMS if n else 0


def _cmd_paper(args) -> int:
    """``mgdl paper plan|run|export`` (:mod:`mgdl_core.pages.paper`)."""
    from .pages import paper

    if args.paper_command == "classical":
        return _cmd_paper_classical(args)
    if args.only is not None and not args.only.strip():
        raise UsageError("--only is empty: give a figure ('Fig. 1') or a name ('s5-')")
    items = paper.select(paper.paper_items(), args.only)
    out, results = _out(args), _results(args)
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
    path = classical_full.default_path(_results(args))
    print(f"Tables 2–3, classical methods on the full-size images: {len(configs)} cells into {path}", flush=True)
    classical_full.compute(path, args.image, progress=lambda line: print(line, flush=True))
    return 0


HANDLERS = {"paper": _cmd_paper, "run": _cmd_run, "sweep": _cmd_sweep, "list": _cmd_list, "runs": _cmd_runs,
            "show": _cmd_show, "doctor": _cmd_doctor, "export": _cmd_export}


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning (a colour image made grey) as one line, without Python's source line."""
    print(f"mgdl: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    """The ``mgdl`` command; its warnings are one line each (restored on return)."""
    with warnings.catch_warnings():
        warnings.showwarning = _warn
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    got: dict[str, int] = {}  # the signal that stopped a run or sweep, when it came outside training
    args = None
    try:
        args = build_parser().parse_args(argv)
        if args.command != "list":
            from .runtime import check_environment

            check_environment()  # a bad MGDL_* value: one line now, not a surprise mid-run
        if args.command not in ("run", "sweep", "paper") or getattr(args, "paper_command", "run") != "run":
            return HANDLERS[args.command](args)
        from .runs.sweeps import stopping_signals  # SIGTERM stops like Ctrl-C

        with stopping_signals() as got:
            return HANDLERS[args.command](args)
    except (UsageError, ConfigError, CorruptRecord) as exc:
        print(f"mgdl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImageNotFoundError as exc:  # what, where it looked and how to fix it, on one line
        print("mgdl: error: " + " ".join(line.strip() for line in str(exc).splitlines()), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `mgdl list | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # a write that failed (a full disk): one line, nothing left behind
        from .runs.files import WriteFailed

        if not isinstance(exc, WriteFailed):
            raise
        print(f"mgdl: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
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
