"""Sphinx fixes for the rendered book (a local extension, named in ``_config.yml``).

* ``book_fixes.js``: the visible ☰ and "on this page" buttons, which the pinned themes leave
  unbound (pydata-sphinx-theme 0.17.1 with sphinx-book-theme 1.3.0; see the script).
* ``book_fixes.css``: figures at their natural size (never wider than the column; on a phone,
  in a box that scrolls sideways) and matplotlib's players within the column.
* No Thebe: Jupyter Book 1 always loads sphinx-thebe, whose inline configuration is emitted
  twice per page (a ``const THEBE_JS_URL`` declared twice is an uncaught error on every page),
  and the book offers no live kernel. Its scripts are dropped from every page.
"""
from __future__ import annotations


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    kept = [s for s in scripts
            if "THEBE_JS_URL" not in (getattr(s, "attributes", {}).get("body") or "")
            and not str(s).endswith("sphinx-thebe.js")]
    context["script_files"] = kept


def setup(app):
    app.add_js_file("book_fixes.js")
    app.add_css_file("book_fixes.css")
    # after sphinx-thebe and the themes have added their scripts
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
