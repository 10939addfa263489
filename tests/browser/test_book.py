"""The built book as a reader sees it: every page in a real Chromium, from ``file://``, offline.

Run after ``make book`` (``make browser-test``; CI runs it after the book). Playwright drives the
system's Chromium (Debian's ``chromium``, or ``MGDL_CHROMIUM``): no browser is downloaded.
The book is ``_build/html``, or the folder ``MGDL_BOOK_DIR`` names (another build, or a copy of
one with a changed ``_static/book_fixes.css``). Without a built book or a Chromium the module is
skipped, unless ``MGDL_BROWSER=require`` (set by CI), under which a missing book or browser fails.

What is checked, per page of ``_toc.yml``:

* no console error and no uncaught exception while it loads;
* no request leaves the machine (anything but ``file:``, ``data:``, ``blob:`` is recorded and
  aborted): the book works offline;
* every image in the article is captioned (inside a ``<figure>`` with a ``<figcaption>``) and
  has alt text that says something (not a file name), and every figure is referred to from
  the prose;
* figures are shown near their natural size, for which their text is sized
  (:mod:`mgdl_core.pages.book_style`): at most 20 % smaller at 1280 px, at least 640 px on a phone;
* on a phone (390 px, emulated with its meta viewport read) no page is wider than the screen
  (a wider page pans sideways, text and all, and the phone's browser widens its layout
  viewport to fit it): a figure wider than the column scrolls inside its own box, which fits
  the screen, shows a cue at the edge beyond which more of it lies (``.mgdl-scroll-frame``,
  set by ``book/_static/book_fixes.js``), and its caption stays on screen;
* no printed output line overflows its box at 1280 px;
* every animation player's slider changes the frame it shows, the player fits the column at a
  phone's 390 px, and there its buttons, slider and repetition choices are at least 32 px tall;
* at 390 px the ☰ button opens the table of contents in a drawer that lies on the screen, in
  which every entry can be scrolled to and tapped, and "on this page" opens the list of
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
DESKTOP = dict(viewport=dict(width=1280, height=900))
# a phone as Chromium emulates one: it reads the page's <meta name="viewport">, and a page wider
# than the screen widens the layout viewport (innerWidth) to fit instead of only scrolling
PHONE = dict(viewport=dict(width=390, height=844), is_mobile=True, has_touch=True)
SCREEN = PHONE["viewport"]["width"]
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

    def __init__(self, browser, page: str, device: dict):
        self.context = browser.new_context(**device)
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
    """The figures' text is sized for their natural width (mgdl_core.pages.book_style): at 1280 px a
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


# The page's width and the layout viewport's, and every element that sticks out of a screen
# ``w`` px wide on the right while its parent does not (the one that widens the page), left out
# when it is hidden, fixed to the screen (an off-screen drawer) or held by a box that clips or
# scrolls and fits the screen.
_STICKING_OUT = """w => {
    const out = [];
    const heldOrFixed = e => {
        if (getComputedStyle(e).position === 'fixed') return true;
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
            const s = getComputedStyle(a);
            if (s.position === 'fixed') return true;
            if (s.overflowX !== 'visible' && a.getBoundingClientRect().right <= w + 1) return true; }
        return false; };
    for (const e of document.body.querySelectorAll('*')) {
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.right <= w + 1 || getComputedStyle(e).visibility === 'hidden') continue;
        if (e.parentElement && e.parentElement.getBoundingClientRect().right > w + 1) continue;
        if (heldOrFixed(e)) continue;
        const cls = typeof e.className === 'string' && e.className.trim()
            ? '.' + e.className.trim().split(/\\s+/).slice(0, 3).join('.') : '';
        out.push({what: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + cls,
                  right: Math.round(r.right), width: Math.round(r.width)}); }
    return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
            widest: out.sort((a, b) => b.right - a.right).slice(0, 6)}; }"""

# Each figure's image on a phone: its box that scrolls sideways (the nearest ancestor whose
# overflow-x is auto or scroll) and that box's frame with its cue, and the caption.
_PHONE_FIGURES = """els => els.map(img => {
    const fig = img.closest('figure'), cap = fig.querySelector('figcaption');
    let box = img.parentElement;
    while (box !== fig && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX))
        box = box.parentElement;
    const r = img.getBoundingClientRect(), b = box.getBoundingClientRect();
    const frame = box.closest('.mgdl-scroll-frame');
    return {src: (img.getAttribute('src') || '').slice(0, 50), shown: Math.round(r.width),
            scrolls: box !== fig, boxLeft: b.left, boxRight: b.right, imgLeft: r.left,
            wider: box.scrollWidth > box.clientWidth + 1,
            cue: frame ? getComputedStyle(frame, '::after').opacity : null,
            capLeft: cap ? cap.getBoundingClientRect().left : 0,
            capRight: cap ? cap.getBoundingClientRect().right : 0}; })"""


@pytest.mark.parametrize("page", PAGES)
def test_no_page_is_wider_than_a_phone(browser, page):
    """At 390 px the page itself never scrolls sideways: a figure keeps its legible width in a box
    of its own that scrolls, with a cue on its right edge that goes once it is scrolled to the
    end, and its caption on screen."""
    opened = OpenPage(browser, page, PHONE)
    try:
        p = opened.page
        wide = p.evaluate(_STICKING_OUT, SCREEN)
        assert wide["scroll"] <= wide["inner"] <= SCREEN, (
            f"{page} is {wide['scroll']} px wide on a {SCREEN} px screen (layout viewport "
            f"{wide['inner']} px): it pans sideways; "
            "what sticks out:\n" + "\n".join(f"  {w['what']}: right edge at {w['right']} px "
                                               f"({w['width']} px wide)" for w in wide["widest"]))
        figures = p.eval_on_selector_all("article figure img", _PHONE_FIGURES)
        off = [f for f in figures if f["boxLeft"] < -1 or f["boxRight"] > SCREEN + 1
               or f["imgLeft"] < f["boxLeft"] - 1 or f["capLeft"] < -1 or f["capRight"] > SCREEN + 1]
        assert not off, f"{page}: figure boxes or captions off the screen at 390 px:\n" + "\n".join(map(str, off))
        unboxed = [f for f in figures if f["shown"] > SCREEN and not f["scrolls"]]
        assert not unboxed, f"{page}: figures wider than the screen in no box that scrolls:\n" + "\n".join(
            map(str, unboxed))
        no_cue = [f for f in figures if f["wider"] and f["cue"] != "1"]
        assert not no_cue, f"{page}: figures that scroll with no cue at the right edge:\n" + "\n".join(
            map(str, no_cue))
        # scrolled to the end, the cue on the right goes (the frame shows it only while more lies there)
        p.eval_on_selector_all(".mgdl-scroll-frame > .mgdl-scroll",
                               "els => els.forEach(b => b.scrollLeft = b.scrollWidth)")
        p.wait_for_timeout(400)
        figures = p.eval_on_selector_all("article figure img", _PHONE_FIGURES)
        stuck = [f for f in figures if f["wider"] and f["cue"] not in (None, "0")]
        assert not stuck, f"{page}: the right-edge cue stays once the figure is scrolled to its end:\n" + "\n".join(
            map(str, stuck))
        assert p.evaluate("document.documentElement.scrollWidth") <= SCREEN
        assert opened.errors == [], "\n".join(opened.errors)
    finally:
        opened.close()


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
        # a finger is about 9 mm: a button, the slider or a repetition choice under 32 px is a miss
        small = opened.page.eval_on_selector_all(
            "article .animation button, article .animation input[type=range], article .animation .anim-state label",
            """els => els.map(e => ({what: e.getAttribute('aria-label') || e.textContent.trim() || e.type,
                                     height: Math.round(e.getBoundingClientRect().height * 10) / 10}))
                         .filter(c => c.height < 31.5)""")
        assert not small, "player controls too small to touch at 390 px (under 32 px tall):\n" + "\n".join(
            f"  {c['what']}: {c['height']} px" for c in small)
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

# The open drawer's box and the part of the page on the screen (the visual viewport, in the same
# coordinates), and each of the drawer's table-of-contents entries scrolled into view inside
# it: an entry a reader cannot reach (off the screen, or under something else at its centre)
# is listed, as is any scrolling of the page behind the drawer.
_DRAWER = """() => {
    const d = document.querySelector('dialog#pst-primary-sidebar-modal'), r = d.getBoundingClientRect();
    const vv = window.visualViewport || {offsetLeft: 0, offsetTop: 0, width: innerWidth, height: innerHeight};
    const s = {left: vv.offsetLeft, top: vv.offsetTop, right: vv.offsetLeft + vv.width,
               bottom: vv.offsetTop + vv.height};
    const links = [...d.querySelectorAll('nav.bd-docs-nav a.reference.internal')], missed = [];
    const x0 = window.scrollX, y0 = window.scrollY;
    for (const a of links) {
        a.scrollIntoView({block: 'nearest', inline: 'nearest'});
        const b = a.getBoundingClientRect(), x = (b.left + b.right) / 2, y = (b.top + b.bottom) / 2;
        const hit = document.elementFromPoint(x, y);
        if (!(b.height > 0 && b.top >= s.top - 1 && b.bottom <= s.bottom + 1 && b.left >= s.left - 1
              && b.right <= s.right + 1 && hit && (hit === a || a.contains(hit))))
            missed.push(`${a.textContent.trim().slice(0, 40)} (top ${Math.round(b.top)} px, `
                        + `under ${hit ? hit.tagName.toLowerCase() + '.' + hit.className : 'nothing'})`); }
    return {top: r.top, left: r.left, right: r.right, bottom: r.bottom, screen: s, links: links.length, missed,
            pageScrolled: window.scrollX !== x0 || window.scrollY !== y0}; }"""


@pytest.mark.parametrize("page", PAGES)
def test_table_of_contents_opens_on_a_phone(browser, page):
    opened = OpenPage(browser, page, PHONE)
    try:
        assert not _sidebar_visible(opened.page), "at 390 px the table of contents should start closed"
        _toggle(opened.page).click()
        # pydata-sphinx-theme opens the sidebar as a <dialog> on narrow screens
        opened.page.wait_for_selector("dialog#pst-primary-sidebar-modal[open]", timeout=3000)
        opened.page.wait_for_timeout(300)  # the sidebar's slide-in
        assert _sidebar_visible(opened.page), "at 390 px ☰ does not open the table of contents"
        d = opened.page.evaluate(_DRAWER)
        sc = d["screen"]
        on_screen = (d["top"] >= sc["top"] - 1 and d["left"] >= sc["left"] - 1
                     and d["right"] <= sc["right"] + 1 and d["bottom"] <= sc["bottom"] + 1)
        assert on_screen, (
            f"{page}: the drawer is not on the screen (x {sc['left']:.0f}–{sc['right']:.0f}, "
            f"y {sc['top']:.0f}–{sc['bottom']:.0f}): it spans x {d['left']:.0f}–{d['right']:.0f}, "
            f"y {d['top']:.0f}–{d['bottom']:.0f}")
        assert d["links"] > 0, f"{page}: the drawer holds no table-of-contents entry"
        assert not d["missed"], f"{page}: entries of the table of contents that cannot be tapped:\n" + "\n".join(
            "  " + m for m in d["missed"])
        assert not d["pageScrolled"], f"{page}: reaching the drawer's entries scrolls the page behind it"
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
