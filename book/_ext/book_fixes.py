"""Sphinx fixes for the rendered book (a local extension, named in ``_config.yml``).

* ``book_fixes.js``: the visible ☰ and "on this page" buttons, which the pinned themes leave
  unbound (pydata-sphinx-theme 0.17.1 with sphinx-book-theme 1.3.0; see the script); every
  figure's image put in a box of its own, which scrolls sideways on a phone, with the cue that
  it does (a shaded edge while more of the figure lies beyond it).
* ``book_fixes.css``: figures at their natural size (never wider than the column; on a phone,
  at least 640 px in a box that scrolls sideways, so that no page is wider than the screen),
  matplotlib's players within the column with controls big enough to touch, wide equations
  scrolling sideways on a phone.
* No Thebe. Jupyter Book 1 always loads sphinx-thebe, whose inline configuration is emitted
  twice per page (a ``const THEBE_JS_URL`` declared twice is an uncaught error on every page),
  and the book offers no live kernel: its handlers are disconnected before any page is read,
  so no page gets its scripts, its stylesheet or its configuration block.
"""
from __future__ import annotations

# the sphinx-thebe handlers that put Thebe on a page: its JS and CSS (env-before-read-docs) and
# the per-page configuration block (doctree-resolved)
THEBE_EVENTS = ("env-before-read-docs", "doctree-resolved")


def _disconnect_thebe(app) -> None:
    for event in THEBE_EVENTS:
        for listener in list(app.events.listeners.get(event, [])):
            if getattr(listener.handler, "__module__", "").split(".")[0] == "sphinx_thebe":
                app.disconnect(listener.id)


def _drop_thebe_css(app, pagename, templatename, context, doctree) -> None:
    """sphinx-thebe adds its stylesheet when it is set up, before anything can disconnect it."""
    if "css_files" in context:
        context["css_files"] = [c for c in context["css_files"]
                                if not str(getattr(c, "filename", c)).endswith("sphinx-thebe.css")]


def setup(app):
    app.add_js_file("book_fixes.js")
    app.add_css_file("book_fixes.css")
    # builder-inited: every extension is set up by then, whatever the order they were loaded in
    app.connect("builder-inited", _disconnect_thebe)
    app.connect("html-page-context", _drop_thebe_css)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
