"""The built book as a reader sees it: every page in a real Chromium, from ``file://``, offline.

Run after ``make book`` (``make browser-test``; CI runs it after the book). Playwright drives the
system's Chromium (Debian's ``chromium``, or ``MGDL_CHROMIUM``): no browser is downloaded.
Without a built book or a Chromium the module is skipped, unless ``MGDL_BROWSER=require`` (set
by CI), under which a missing book or browser fails.

What is checked, per page of ``_toc.yml``:

* no console error and no uncaught exception while it loads;
* no request leaves the machine (anything but ``file:``, ``data:``, ``blob:`` is recorded and
  aborted): the book works offline;
* every image in the article is captioned (inside a ``<figure>`` with a ``<figcaption>``) and
  has alt text that says something (not a file name), and every figure is referred to from
  the prose;
* figures are shown near their natural size, for which their text is sized
  (:mod:`mgdl_core.book_style`): at most 20 % smaller at 1280 px, at least 640 px on a phone;
* no printed output line overflows its box at 1280 px;
* every animation player's slider changes the frame it shows, and the player fits the column
  at a phone's 390 px;
* at 390 px the ☰ button opens the table of contents and "on this page" the list of
  sections; at 1280 px ☰ hides the sidebar.
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = Path(os.environ.get("MGDL_BOOK_DIR", ROOT / "_build" / "html")).resolve()
REQUIRE = os.environ.get("MGDL_BROWSER") == "require"
DESKTOP = dict(width=1280, height=900)
PHONE = dict(width=390, height=844)
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def _unavailable(why: str):
    if REQUIRE:
        pytest.fail(f"MGDL_BROWSER=require: {why}", pytrace=False)
    pytest.skip(why, allow_module_level=True)


def chromium_path() -> str | None:
    """The system's Chromium: ``MGDL_CHROMIUM``, else the first of the usual names on PATH."""
    if os.environ.get("MGDL_CHROMIUM"):
        return os.environ["MGDL_CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def book_pages() -> list[str]:
    """The book's pages in the order of ``_toc.yml``, as paths relative to the HTML root."""
    toc = (ROOT / "_toc.yml").read_text()
    files = re.findall(r"^\s*root:\s*(\S+)", toc, re.M) + re.findall(r"^\s*-\s*file:\s*(\S+)", toc, re.M)
    return [f + ".html" for f in files]


if not (BOOK / "index.html").exists():
    _unavailable(f"the book is not built ({BOOK} has no index.html): run `make book` first")
CHROMIUM = chromium_path()
if CHROMIUM is None:
    _unavailable("no Chromium on this machine (apt-get install chromium, or set MGDL_CHROMIUM)")
sync_api = (importlib.import_module("playwright.sync_api") if REQUIRE  # required: an ImportError fails
            else pytest.importorskip("playwright.sync_api"))

PAGES = book_pages()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class OpenPage:
    """One page opened in a fresh context, with its console errors and remote requests kept."""

    def __init__(self, browser, page: str, viewport: dict):
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.remote: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.context.route("**/*", self._route)
        self.page.goto((BOOK / page).as_uri(), wait_until="load")
        self.page.wait_for_timeout(300)  # the theme's and MathJax's scripts run after load

    def _route(self, route):
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            self.remote.append(url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture(scope="module", params=PAGES)
def desktop(request, browser):
    opened = OpenPage(browser, request.param, DESKTOP)
    yield opened
    opened.close()


def test_page_loads_offline_without_errors(desktop):
    assert desktop.errors == [], "\n".join(desktop.errors)
    assert desktop.remote == [], "requests that leave the machine:\n" + "\n".join(desktop.remote)
    thebe = desktop.page.locator("script[src*=thebe], link[href*=thebe], script[type='text/x-thebe-config']")
    assert thebe.count() == 0, "Thebe is on the page (book/_ext/book_fixes.py should keep it off)"


def test_every_figure_has_caption_and_alt_text(desktop):
    images = desktop.page.eval_on_selector_all(
        "article img", """els => els.map(e => ({
            src: e.getAttribute('src') || '', alt: (e.getAttribute('alt') || '').trim(),
            caption: !!(e.closest('figure') && e.closest('figure').querySelector('figcaption')
                        && e.closest('figure').querySelector('figcaption').textContent.trim())}))""")
    bad = [i for i in images if not i["caption"]
           or len(i["alt"]) < 15 or re.search(r"\.(png|jpe?g|svg|gif)$", i["alt"], re.I)]
    assert not bad, "images without a caption or a real alt text:\n" + "\n".join(
        f"  {i['src'][:70]}  alt={i['alt'][:60]!r} caption={i['caption']}" for i in bad)


def test_every_figure_is_introduced_in_the_prose(desktop):
    """A figure (or player) that no sentence of its page refers to is one a reader meets
    unannounced: each needs a {numref} link from outside itself."""
    unnamed = desktop.page.locator("article figure:not([id])").count()
    assert unnamed == 0, f"{unnamed} figure(s) without a :name:, which no sentence can refer to"
    alone = desktop.page.eval_on_selector_all(
        "article figure[id]", """els => els.map(f => f.id).filter(id =>
            ![...document.querySelectorAll(`article a.reference.internal[href="#${id}"]`)]
                .some(a => !a.closest(`figure[id="${id}"]`)))""")
    assert not alone, f"figures no sentence refers to: {alone}"


def _shown_images(page) -> list[dict]:
    return page.eval_on_selector_all(
        "article figure img", """els => els.map(e => ({src: (e.getAttribute('src') || '').slice(0, 70),
            natural: e.naturalWidth, shown: e.getBoundingClientRect().width}))""")


def test_figures_are_shown_near_their_natural_size(desktop, browser, request):
    """The figures' text is sized for their natural width (mgdl_core.book_style): at 1280 px a
    figure may be scaled down by 20 % at most, and on a phone it keeps 640 px (or its natural
    width) inside a box that scrolls sideways."""
    small = [i for i in _shown_images(desktop.page) if i["shown"] < 0.8 * i["natural"] - 1]
    assert not small, "figures shrunk below 80 % of their size at 1280 px:\n" + "\n".join(map(str, small))
    phone = OpenPage(browser, request.node.callspec.params["desktop"], PHONE)
    try:
        small = [i for i in _shown_images(phone.page) if i["shown"] < min(i["natural"], 640) - 1]
        assert not small, "figures shrunk on a phone:\n" + "\n".join(map(str, small))
    finally:
        phone.close()


def test_printed_outputs_fit_their_box(desktop):
    over = desktop.page.eval_on_selector_all(
        "article .cell_output pre, article .output pre", """els => els
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => ({over: e.scrollWidth - e.clientWidth,
                        line: e.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '')}))""")
    assert not over, "printed lines wider than their box at 1280 px:\n" + "\n".join(
        f"  +{o['over']} px: {o['line'][:100]}" for o in over)


def test_players_change_frame(desktop):
    players = desktop.page.locator("article .animation")
    # every player is glued as a figure named player-…: a player that did not render fails here
    assert players.count() == desktop.page.locator("article figure[id^='player-']").count()
    for k in range(players.count()):
        player = players.nth(k)
        img, slider = player.locator("img"), player.locator("input[type=range]")
        first = img.get_attribute("src")
        last = slider.get_attribute("max")
        slider.evaluate("(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); "
                        "s.dispatchEvent(new Event('change')); }", last)
        desktop.page.wait_for_timeout(100)
        assert img.get_attribute("src") != first, f"player {k}: moving the slider did not change the frame"
    assert desktop.errors == [], "\n".join(desktop.errors)


@pytest.mark.parametrize("page", [p for p in PAGES if "executed" in p])
def test_players_fit_a_phone(browser, page):
    opened = OpenPage(browser, page, PHONE)
    try:
        over = opened.page.eval_on_selector_all(
            "article .animation", """els => els.map(e => {
                // the box the player is shown in: its figure, or the output area around it
                const box = (e.parentElement.closest('figure, .cell_output, .output') || e.closest('article'))
                    .getBoundingClientRect(), r = e.getBoundingClientRect();
                // the frame's image may scroll sideways inside its box; the box and controls must fit
                const parts = [...e.querySelectorAll('.mgdl-scroll, input, button')].map(c => c.getBoundingClientRect());
                return Math.max(r.right, ...parts.map(p => p.right)) - box.right; })""")
        assert all(o <= 1 for o in over), f"players wider than the column at 390 px by {over} px"
    finally:
        opened.close()


def _sidebar_visible(page) -> bool:
    """Whether the table of contents is on screen: in the sidebar (wide screens) or in the
    drawer the theme opens on narrow ones (its links move into a ``<dialog>``)."""
    return page.evaluate("""() => [...document.querySelectorAll('nav.bd-docs-nav a.reference.internal')]
        .some(a => { const r = a.getBoundingClientRect(), st = getComputedStyle(a);
                     let hidden = false;
                     for (let e = a; e; e = e.parentElement) {
                         const s = getComputedStyle(e);
                         if (s.visibility === 'hidden' || s.display === 'none' || s.opacity === '0') hidden = true; }
                     return !hidden && r.width > 0 && r.right > 0 && r.left < window.innerWidth
                            && r.top < window.innerHeight && r.bottom > 0; })""")


def _toggle(page):
    """The ☰ button a reader sees: the visible one of the theme's sidebar toggles."""
    buttons = page.locator(".primary-toggle, label.sidebar-toggle.primary-toggle, button.primary-toggle")
    for k in range(buttons.count()):
        if buttons.nth(k).is_visible():
            return buttons.nth(k)
    raise AssertionError("no visible ☰ (primary sidebar) button")


# the introduction, and the first notebook page (a page with a table of contents of its own)
PHONE_PAGES = [PAGES[0], next(p for p in PAGES if "executed" in p)]


@pytest.mark.parametrize("page", PHONE_PAGES)
def test_table_of_contents_opens_on_a_phone(browser, page):
    opened = OpenPage(browser, page, PHONE)
    try:
        assert not _sidebar_visible(opened.page), "at 390 px the table of contents should start closed"
        _toggle(opened.page).click()
        # pydata-sphinx-theme opens the sidebar as a <dialog> on narrow screens
        opened.page.wait_for_selector("dialog#pst-primary-sidebar-modal[open]", timeout=3000)
        assert _sidebar_visible(opened.page), "at 390 px ☰ does not open the table of contents"
        assert opened.errors == [], "\n".join(opened.errors)
    finally:
        opened.close()


def test_on_this_page_opens_on_a_phone(browser):
    opened = OpenPage(browser, PHONE_PAGES[1], PHONE)
    try:
        buttons = opened.page.locator(".secondary-toggle")
        visible = [buttons.nth(k) for k in range(buttons.count()) if buttons.nth(k).is_visible()]
        assert visible, "no visible 'on this page' button at 390 px"
        visible[0].click()
        opened.page.wait_for_selector("dialog#pst-secondary-sidebar-modal[open]", timeout=3000)
        links = opened.page.locator("dialog#pst-secondary-sidebar-modal a.reference.internal")
        assert links.count() > 0 and links.first.is_visible(), "'on this page' opens no list of sections"
    finally:
        opened.close()


def test_menu_button_hides_the_sidebar_on_a_desktop(browser):
    opened = OpenPage(browser, PAGES[1], DESKTOP)
    try:
        assert _sidebar_visible(opened.page)
        _toggle(opened.page).click()
        opened.page.wait_for_timeout(400)
        assert not _sidebar_visible(opened.page), "at 1280 px ☰ does not hide the sidebar"
    finally:
        opened.close()
