"""Runner for the book: execute every ``notebooks/NN_name.py`` with papermill.

``python -m mgdl_core.pages.execute [--profile quick|paper] [--only NAME] [--jobs N] [--build]``

Each notebook is a jupytext percent-format ``.py`` file with a papermill ``parameters`` cell
holding ``profile``. The runner reads it with jupytext, executes it with papermill (parameter
``profile``), normalises the result and writes ``book/executed/NN_name.ipynb``, which is
committed: it is the book's input and nbval's reference (``make test``).

Working directory: the kernel runs in the **repository root** (``cwd=ROOT``). Notebooks should
not depend on it anyway: nbval re-executes the stored notebooks from ``book/executed/``, so
files are found through the library (e.g. ``MGDL_DATA_DIR``), never by relative path.

Normalisation (``normalize``) makes two consecutive runs byte-identical: stable cell ids, no
papermill/nbclient timing metadata, adjacent stream outputs merged, no saved widget state (the
static book renders no widgets: live ones, such as the eigenvalue explorer, sit in cells tagged
``skip-execution`` that the runner and nbval skip), and ``metadata.papermill`` reduced to the parameters and the relative
``input_path`` of the ``.py`` source. The notebook's default ``parameters`` cell is tagged
``remove-cell``: the page shows papermill's injected cell, i.e. the profile actually used.

Notebooks run ``--jobs`` at a time (default: the cores this process may use, at most 4), each
in a process of its own with its own kernel; a run two notebooks ask for trains once (record
locks), so the order they finish in changes nothing they write. A failing notebook stops the run before the book is built: the notebook, the cell and the error
are printed, the partial notebook is kept under ``_build/failed/`` and the exit status is 1.
The committed reference of a failing notebook is left untouched.

papermill and jupytext are imported lazily: the core library does not need the book extras.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

from ..runtime import PROJECT_ROOT as ROOT
from .book_style import compact_png  # executed notebooks store their figures compacted

NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "book" / "executed"
PROFILES = ("quick", "paper")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookFailed(RuntimeError):
    """A notebook raised while executing; ``str()`` is the report printed to the user."""


def sources(src_dir: Path = NOTEBOOKS, only: str | None = None) -> list[Path]:
    """The notebook sources ``NN_name.py`` in execution order (optionally only those matching)."""
    found = sorted(src_dir.glob("[0-9]*.py"))
    if only:
        found = [p for p in found if p.stem == only or only in p.stem]
    return found


# --------------------------------------------------------------------------- normalisation
def _merge_streams(outputs: list) -> list:
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and out.get("output_type") == "stream"
            and prev.get("output_type") == "stream"
            and out.get("name") == prev.get("name")
        ):
            prev["text"] = prev["text"] + out["text"]
        else:
            merged.append(out)
    return merged


_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _compact_outputs(outputs: list) -> None:
    for out in outputs:
        out.get("data", {}).pop(_WIDGET_VIEW, None)  # a random model id; its text/plain stays
        for key, value in out.get("data", {}).items():
            if key.endswith("image/png") and isinstance(value, str):
                out["data"][key] = compact_png(value.replace("\n", ""))


def normalize(nb: dict, input_path: str) -> dict:
    """A copy of executed notebook ``nb`` (plain JSON dict) that is identical across runs, its
    figures compacted (:func:`compact_png`: a page's notebook stays under the 2 MiB a file may
    have in git)."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.get("cells", [])):
        cell["id"] = f"cell-{i:03d}"
        meta = cell.setdefault("metadata", {})
        meta.pop("papermill", None)
        meta.pop("execution", None)
        if "outputs" in cell:
            cell["outputs"] = _merge_streams(cell["outputs"])
            _compact_outputs(cell["outputs"])
    # The page shows papermill's injected cell (the values actually used); the notebook's own
    # defaults would only repeat or contradict it, so they are removed from the rendered page.
    cells = nb.get("cells", [])
    if any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells):
        for cell in cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if "parameters" in tags and "remove-cell" not in tags:
                tags.append("remove-cell")
    meta = nb.setdefault("metadata", {})
    params = meta.get("papermill", {}).get("parameters", {})
    meta["papermill"] = {"input_path": input_path, "parameters": params}
    nb["nbformat"], nb["nbformat_minor"] = 4, max(nb.get("nbformat_minor", 5), 5)
    meta.pop("widgets", None)  # random model ids that nothing in the static book renders
    return nb


def write_notebook(nb: dict, path: Path) -> None:
    """Write like nbformat does (sorted keys, indent 1, trailing newline)."""
    import nbformat

    node = nbformat.from_dict(nb)
    nbformat.validate(node)
    nbformat.write(node, str(path))


# --------------------------------------------------------------------------- execution
def _report(exc, src: Path, profile: str, partial: Path) -> str:
    lines = [
        "",
        "=" * 78,
        f"NOTEBOOK FAILED: {_rel(src)} (profile={profile})",
        f"  cell {exc.cell_index} (execution count {exc.exec_count}):",
    ]
    lines += ["    | " + line for line in str(exc.source).splitlines()]
    lines.append(f"  {exc.ename}: {exc.evalue}")
    tb = _ANSI.sub("", "\n".join(exc.traceback or [])).splitlines()
    if tb:
        lines.append("  traceback (last 15 lines):")
        lines += ["    " + line for line in tb[-15:]]
    lines.append(f"  partially executed notebook: {_rel(partial)}")
    lines.append("  the book was NOT built; fix the notebook and re-run `make book`.")
    lines.append("=" * 78)
    return "\n".join(lines)


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def execute_one(
    src: Path,
    out_dir: Path = EXECUTED,
    profile: str = "quick",
    kernel: str = "python3",
    cell_timeout: int = 1800,
    work_dir: Path | None = None,
    root: Path = ROOT,
) -> Path:
    """Execute ``src`` into ``out_dir/<stem>.ipynb``; raise :class:`NotebookFailed` on error."""
    import jupytext
    import nbformat
    import papermill as pm

    work_dir = _work_dir(work_dir, root)
    work_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = work_dir / f"{src.stem}.ipynb"
    # Progress bars are noise (and timing-dependent output) in a static book.
    os.environ.setdefault("TQDM_DISABLE", "1")
    nb_in = jupytext.read(src)
    nb_in.metadata.setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"})
    try:
        pm.execute_notebook(
            nb_in,
            str(tmp),
            parameters={"profile": profile},
            kernel_name=kernel,  # "python3" = the interpreter running this runner
            cwd=str(root),
            progress_bar=False,
            execution_timeout=cell_timeout,
        )
    except pm.PapermillExecutionError as exc:
        failed = root / "_build" / "failed" / tmp.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.move(str(tmp), failed)
        raise NotebookFailed(_report(exc, src, profile, failed)) from None
    try:
        input_path = src.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        input_path = src.name
    nb = normalize(nbformat.read(str(tmp), as_version=4), input_path)
    out = out_dir / f"{src.stem}.ipynb"
    write_notebook(nb, tmp)
    os.replace(tmp, out)
    return out


# ------------------------------------------------------------------------- offline check
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host (not data:)
_CSS_URL = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)|url\(\s*['"]?([^'")\s]+)""", re.I)


class _ResourceLinks(HTMLParser):
    """Collects what a browser would fetch to render a page: ``<script src>``, ``<link href>``
    for styles, fonts, icons and preloads, and ``url(...)`` / ``@import`` in inline CSS."""

    FETCHED_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon",
                    "manifest", "prefetch"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "link" and self.FETCHED_RELS & set(a.get("rel", "").lower().split()):
            self.urls.append(a.get("href", ""))
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self.urls += css_urls(a["style"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += css_urls(data)


def css_urls(css: str) -> list[str]:
    """The URLs a stylesheet fetches (``@import`` and ``url(...)``, fonts included)."""
    return [a or b for a, b in _CSS_URL.findall(css)]


def external_references(html_dir: Path) -> list[tuple[Path, str]]:
    """Every remote URL (http, https, protocol-relative) that a page or stylesheet of the built
    book would fetch for scripts, styles or fonts. An offline book has none."""
    found = []
    for page in sorted(Path(html_dir).rglob("*.html")):
        parser = _ResourceLinks()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        found += [(page, u) for u in parser.urls if _REMOTE.match(u.strip())]
    for sheet in sorted(Path(html_dir).rglob("*.css")):
        found += [(sheet, u) for u in css_urls(sheet.read_text(encoding="utf-8", errors="replace"))
                  if _REMOTE.match(u.strip())]
    return found


def build_book() -> int:
    """``jupyter-book build -W -n --keep-going --all .``; print where the book is."""
    static = ROOT / "book" / "_static" / "vendor" / ".stamp"
    if not static.exists():
        print("error: vendored MathJax missing (book/_static/vendor): run "
              "`make book` or `bash tools/vendor_assets.sh` first.", file=sys.stderr)
        return 2
    jb = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jb) if jb.exists() else "jupyter-book",
           "build", "-W", "-n", "--keep-going", "--all", "."]
    print("$ jupyter-book " + " ".join(cmd[1:]), flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0:
        print(f"error: the book build failed (exit {rc}; warnings are errors, see above).",
              file=sys.stderr)
        return rc
    remote = external_references(ROOT / "_build" / "html")
    if remote:
        print(f"error: the book is not offline: {len(remote)} reference(s) to remote scripts, styles or "
              "fonts:\n" + "\n".join(f"  {_rel(f)}: {url}" for f, url in remote[:20]), file=sys.stderr)
        return 1
    print(f"book built in {time.perf_counter() - t0:.1f} s")
    print(f"open: {ROOT / '_build' / 'html' / 'index.html'}")
    return 0


def default_jobs() -> int:
    """How many notebooks to execute at once: the cores this process may use, at most 4 (each
    kernel trains on one thread; more would contend for memory bandwidth on a laptop)."""
    from ..runs.sweeps import available_cores

    return max(1, min(4, available_cores()))


def _work_dir(work_dir: Path | None, root: Path) -> Path:
    """Where notebooks execute before they are normalised (and the last run's times are kept)."""
    return Path(work_dir) if work_dir else root / "_build" / "executing"


def longest_first(todo: list[Path], seconds: dict[str, float]) -> list[Path]:
    """``todo`` with the notebooks that took longest last time first (a notebook never timed
    counts as the longest), the rest in their order: with several at a time, a long notebook
    started last would finish alone."""
    return sorted(todo, key=lambda p: -seconds.get(p.stem, math.inf))


def execute_all(todo: list[Path], jobs: int = 1, **kw) -> int:
    """Execute ``todo`` (``jobs`` at a time, each in its own process, longest first by the times
    of the last run: :func:`longest_first`), printing each notebook as it ends; 0, or 1 after the
    first failure (printed; notebooks not yet started are not started, those running finish)."""
    t_all = time.perf_counter()
    times_path = _work_dir(kw.get("work_dir"), Path(kw.get("root", ROOT))) / "seconds.json"
    try:
        times = {str(k): float(v) for k, v in json.loads(times_path.read_text()).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        times = {}
    if jobs <= 1 or len(todo) <= 1:
        for src in todo:
            print(f"executing {_rel(src)} (profile={kw.get('profile', 'quick')}) ...", flush=True)
            try:
                out, times[src.stem] = _timed_execute(src, kw)
            except NotebookFailed as exc:
                print(exc, file=sys.stderr)
                return 1
            print(f"  -> {_rel(out)} in {times[src.stem]:.1f} s", flush=True)
    else:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        print(f"executing {len(todo)} notebooks, {jobs} at a time (profile={kw.get('profile', 'quick')}) ...",
              flush=True)
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            started = {pool.submit(_timed_execute, src, kw): src for src in longest_first(todo, times)}
            pending = set(started)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        out, seconds = fut.result()
                    except NotebookFailed as exc:
                        print(exc, file=sys.stderr)
                        for other in pending:
                            other.cancel()
                        return 1
                    times[started[fut].stem] = seconds
                    print(f"  -> {_rel(out)} in {seconds:.1f} s", flush=True)
    print(f"{len(todo)} notebook(s) executed in {time.perf_counter() - t_all:.1f} s", flush=True)
    try:  # a cache for the next run's order, nothing more
        times_path.parent.mkdir(parents=True, exist_ok=True)
        times_path.write_text(json.dumps(times, indent=1, sort_keys=True))
    except OSError:
        pass
    return 0


def _timed_execute(src: Path, kw: dict) -> tuple[Path, float]:
    t0 = time.perf_counter()
    out = execute_one(src, **kw)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mgdl_core.pages.execute", description=__doc__.split("\n")[0])
    ap.add_argument("--profile", choices=PROFILES, default="quick",
                    help="quick: small sizes for CI and CPUs (default); paper: the paper's sizes (GPU)")
    ap.add_argument("--only", metavar="NAME", help="only notebooks whose name is or contains NAME")
    ap.add_argument("--build", action="store_true", help="then build the book (jupyter-book -W)")
    ap.add_argument("--kernel", default="python3", help="kernel name (default: python3 = this interpreter)")
    ap.add_argument("--cell-timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    ap.add_argument("--jobs", type=int, default=default_jobs(), metavar="N",
                    help=f"notebooks executed at once, each in its own process (default here: {default_jobs()})")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, not {args.jobs}")

    todo = sources(only=args.only)
    if args.only and not todo:
        print(f"error: no notebook matches {args.only!r} in notebooks/", file=sys.stderr)
        return 2
    rc = execute_all(todo, args.jobs, profile=args.profile, kernel=args.kernel, cell_timeout=args.cell_timeout)
    if rc:
        return rc
    return build_book() if args.build else 0


if __name__ == "__main__":
    sys.exit(main())
