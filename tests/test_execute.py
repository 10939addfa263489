"""The book runner: normalisation makes re-runs byte-identical; failures are reported."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mgdl_core.pages import execute

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _widget_notebook(seed: int) -> dict:
    """An 'executed' notebook as papermill leaves it: random ids, timings, split streams, and the
    state of a widget it displayed (which the static book does not render)."""
    ids = [uuid.UUID(int=(seed * 7919 + i) * 2654435761 % 2**128).hex for i in range(4)]
    slider, layout, image, link = ids
    stamp = f"2026-11-29T13:{seed:02d}:00.0000"
    nb = new_notebook()
    nb.metadata["papermill"] = {
        "parameters": {"profile": "quick"}, "start_time": stamp, "duration": seed + 0.5,
        "input_path": "<the whole input notebook>", "output_path": f"/tmp/{seed}.ipynb",
        "environment_variables": {}, "version": "2.7.0"}
    nb.cells = [
        new_markdown_cell("# title"),
        new_code_cell('profile = "quick"', metadata={"tags": ["parameters"]}),
        new_code_cell('# Parameters\nprofile = "quick"\n', metadata={"tags": ["injected-parameters"]}),
        new_code_cell("print(1); print(2)", execution_count=1, outputs=[
            new_output("stream", name="stdout", text="1\n"),
            new_output("stream", name="stdout", text="2\n"),
            new_output("stream", name="stderr", text="warn\n"),
            new_output("stream", name="stdout", text="3\n"),
        ]),
        new_code_cell("slider", execution_count=2, outputs=[new_output(
            "display_data", data={WIDGET_VIEW: {"model_id": slider, "version_major": 2,
                                                        "version_minor": 0},
                                  "text/plain": "IntSlider(value=3)"})]),
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = uuid.UUID(int=seed * 1000 + i).hex[:8]
        cell.metadata["papermill"] = {"start_time": stamp, "duration": 0.1 * seed, "status": "completed"}
        cell.metadata["execution"] = {"iopub.status.busy": stamp}
    state = {
        slider: {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}", "value": 3}},
        layout: {"model_name": "LayoutModel", "state": {}},
        image: {"model_name": "ImageModel", "state": {"layout": f"IPY_MODEL_{layout}"}},
        link: {"model_name": "LinkModel",
               "state": {"source": [f"IPY_MODEL_{slider}", "value"], "target": [f"IPY_MODEL_{image}", "x"]}},
    }
    # dict order must not matter either
    order = list(state) if seed % 2 else list(reversed(state))
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {k: state[k] for k in order},
                                                     "version_major": 2, "version_minor": 0}}
    return json.loads(json.dumps(nb))


def test_two_runs_normalise_to_identical_json():
    a = execute.normalize(_widget_notebook(1), "notebooks/01_x.py")
    b = execute.normalize(_widget_notebook(2), "notebooks/01_x.py")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_normalise_details():
    nb = execute.normalize(_widget_notebook(3), "notebooks/01_x.py")
    assert [c["id"] for c in nb["cells"]] == [f"cell-{i:03d}" for i in range(5)]
    assert nb["cells"][1]["metadata"]["tags"] == ["parameters", "remove-cell"]
    assert all("papermill" not in c["metadata"] and "execution" not in c["metadata"] for c in nb["cells"])
    assert nb["metadata"]["papermill"] == {"input_path": "notebooks/01_x.py",
                                           "parameters": {"profile": "quick"}}
    outs = nb["cells"][3]["outputs"]
    assert [(o["name"], o["text"]) for o in outs] == [("stdout", "1\n2\n"), ("stderr", "warn\n"),
                                                      ("stdout", "3\n")]
    assert "widgets" not in nb["metadata"]  # no saved widget state: the book ships no widget manager
    assert nb["cells"][4]["outputs"][0]["data"] == {"text/plain": "IntSlider(value=3)"}
    # the result is a valid notebook
    nbformat.validate(nbformat.from_dict(nb))


def test_normalise_is_idempotent():
    once = execute.normalize(_widget_notebook(4), "notebooks/01_x.py")
    assert execute.normalize(once, "notebooks/01_x.py") == once


def _write_source(path, body: str) -> None:
    path.write_text(
        "# %% [markdown]\n# # Test\n\n"
        '# %% tags=["parameters"]\nprofile = "quick"\n\n'
        f"# %%\n{body}\n")


def test_execute_twice_is_byte_identical_and_failure_is_reported(tmp_path):
    src_dir, out_dir = tmp_path / "notebooks", tmp_path / "executed"
    src_dir.mkdir()
    ok = src_dir / "01_ok.py"
    _write_source(ok, 'for i in range(3):\n    print("profile", profile, i, flush=True)')
    kw = dict(out_dir=out_dir, profile="quick", work_dir=tmp_path / "work", root=tmp_path)
    out = execute.execute_one(ok, **kw)
    first = out.read_bytes()
    assert execute.execute_one(ok, **kw).read_bytes() == first
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill == {"input_path": "notebooks/01_ok.py", "parameters": {"profile": "quick"}}
    assert nb.cells[-1].outputs[0].text == "profile quick 0\nprofile quick 1\nprofile quick 2\n"

    bad = src_dir / "02_bad.py"
    _write_source(bad, "x = 1\nraise ValueError('boom at x=%d' % x)")
    with pytest.raises(execute.NotebookFailed) as err:
        execute.execute_one(bad, **kw)
    msg = str(err.value)
    assert "02_bad.py" in msg and "ValueError: boom at x=1" in msg and "raise ValueError" in msg
    assert not (out_dir / "02_bad.ipynb").exists()  # the reference is not overwritten


def test_external_references_finds_every_remote_fetch(tmp_path):
    """The offline check of the built book: scripts, styles, fonts and icons from elsewhere."""
    page = tmp_path / "a" / "page.html"
    page.parent.mkdir()
    page.write_text(
        '<html><head><script src="_static/local.js"></script>'
        '<script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/f.css">'
        '<link rel="canonical" href="https://example.org/page">'  # a link, not a fetch
        '<link rel="icon" href="http://example.org/favicon.ico">'
        "<style>@import url('https://example.org/i.css'); .a { background: url(data:image/png;base64,AA) }</style>"
        '</head><body><a href="https://example.org">a link is not a fetch</a>'
        '<div style="background-image: url(https://example.org/bg.png)"></div>'
        '<script>var THEBE_JS_URL = "https://unpkg.com/thebe"</script></body></html>')
    (tmp_path / "s.css").write_text("@font-face { src: url('https://example.org/font.woff2') } .b { src: url(f.woff) }")
    found = sorted(url for _, url in execute.external_references(tmp_path))
    assert found == sorted(["https://cdn.example.org/x.js", "//fonts.example.org/f.css", "http://example.org/favicon.ico",
                            "https://example.org/i.css", "https://example.org/bg.png",
                            "https://example.org/font.woff2"])


def test_executed_notebooks_fetch_nothing_remote(tmp_path):
    """No output of a committed notebook (the players' HTML above all) loads a remote resource."""
    for nb_path in sorted((execute.ROOT / "book" / "executed").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        html = [
            "".join(out["data"]["text/html"]) if isinstance(out["data"]["text/html"], list) else out["data"]["text/html"]
            for cell in nb["cells"] for out in cell.get("outputs", []) if "text/html" in out.get("data", {})]
        (tmp_path / f"{nb_path.stem}.html").write_text("\n".join(html))
    assert execute.external_references(tmp_path) == []


def test_spectrum_player_is_offline(tmp_path):
    """matplotlib's player links Font Awesome from a CDN; the library's player must not."""
    import base64
    import io
    import re

    import numpy as np
    from PIL import Image

    from mgdl_core.tasks.fit import RunSummary
    from mgdl_core.tasks.synthetic import SyntheticRun
    from mgdl_core.pages.plots import spectrum_player

    h = {"eig_epoch": np.array([0, 10]), "eig_smallest": -np.ones((2, 3)), "eig_largest": np.ones((2, 3)),
         "epoch": np.array([0, 10]), "train_loss": np.array([1.0, 0.5])}
    run = RunSummary(SyntheticRun(method="sgdl", epochs=10), "completed", None, 0.5, 0.5, 0.5, 10, 0.1, h)
    html = spectrum_player([run], name="t", frames=2)
    (tmp_path / "player.html").write_text(html)
    assert execute.external_references(tmp_path) == []
    # deterministic, its frames palette PNGs, its image described and in the phone's scroll box
    assert spectrum_player([run], name="t", frames=2) == html
    frames = re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(frames) == 2
    for f in frames:
        with Image.open(io.BytesIO(base64.b64decode(f))) as im:
            assert im.mode == "P" and im.size[0] >= 700  # 8 inches at 100 dpi, cropped by nothing
    assert re.search(r'<div class="mgdl-scroll"><img id="_anim_imgt" alt="Animation, 2 frames[^"]*SGDL[^"]*"></div>', html)
    assert "_anim_imgt" in html and not re.search(r"_anim_img[0-9a-f]{32}", html)
    assert "alt=\"mine\"" in spectrum_player([run], name="u", frames=2, alt="mine")


def test_figures_are_compacted_deterministically_and_kept_when_not_smaller():
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from mgdl_core.pages.book_style import compact_png

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(range(50), [i * i for i in range(50)])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    small = compact_png(data)
    assert len(small) < len(data) and compact_png(data) == small
    with Image.open(io.BytesIO(base64.b64decode(small))) as a, Image.open(buf) as b:
        assert a.size == b.size
    assert compact_png(small) == small  # a palette PNG gains nothing: left as it is


def test_notebooks_in_parallel_write_what_one_at_a_time_writes(tmp_path, capsys):
    src_dir = tmp_path / "notebooks"
    src_dir.mkdir()
    todo = [src_dir / f"0{i}_nb.py" for i in (1, 2)]  # each notebook is a kernel start: about 3 s
    for i, src in enumerate(todo):
        _write_source(src, f'print("notebook {i}", profile, sum(range({i} * 1000)))')
    written = {}
    for jobs in (1, 2):
        out_dir = tmp_path / f"executed{jobs}"
        kw = dict(out_dir=out_dir, profile="quick", work_dir=tmp_path / f"work{jobs}", root=tmp_path)
        assert execute.execute_all(todo, jobs, **kw) == 0
        written[jobs] = {p.name: p.read_bytes() for p in sorted(out_dir.glob("*.ipynb"))}
    assert len(written[1]) == 2 and written[1] == written[2]
    assert set(json.loads((tmp_path / "work2" / "seconds.json").read_text())) == {"01_nb", "02_nb"}
    assert "2 notebook(s) executed" in capsys.readouterr().out

    bad = src_dir / "04_bad.py"
    _write_source(bad, "raise RuntimeError('boom in parallel')")
    kw = dict(out_dir=tmp_path / "executed2", profile="quick", work_dir=tmp_path / "work2", root=tmp_path)
    assert execute.execute_all(todo[:1] + [bad], 2, **kw) == 1
    err = capsys.readouterr().err
    assert "04_bad.py" in err and "RuntimeError: boom in parallel" in err
    assert not (tmp_path / "executed2" / "04_bad.ipynb").exists()


def test_jobs_below_one_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        execute.main(["--jobs", "0"])
    assert exc.value.code == 2 and "--jobs must be at least 1" in capsys.readouterr().err


def test_longest_first_starts_the_slowest_and_the_never_timed():
    todo = [Path(f"notebooks/0{i}_x.py") for i in range(2, 7)]
    seconds = {"02_x": 7.0, "03_x": 98.0, "04_x": 37.0, "06_x": 124.0}
    assert [p.stem for p in execute.longest_first(todo, seconds)] == ["05_x", "06_x", "03_x", "04_x", "02_x"]
    assert execute.longest_first(todo, {}) == todo
