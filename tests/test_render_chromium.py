"""How the emails look in a real browser engine: headless Chromium (Debian's, driven by
Playwright) at a phone's 375 px and the email's own 600 px, in light and dark mode.

Checked: no horizontal scrolling (``scrollWidth <= innerWidth``), every visible text at
WCAG AA contrast (4.5:1) against the background it is painted on, dark mode actually
switching to dark surfaces, ``lang`` on ``<html>`` and alt text on every image.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from digest.jobs.forms import fill_placeholders, preview_values
from digest.models import RenderedEmail
from digest.render.email import render_bulletin_email, render_edition_email
from digest.render.palette import contrast_ratio
from digest.render.web import render_edition_web
from tests.support import (
    ALL_ITEMS,
    BULLETIN_LINKS,
    EVENTS,
    LINKS,
    make_bulletin,
    make_edition,
    make_settings,
)

# Every visible element with its own text: its colour and the first opaque background
# behind it (walking up the ancestors), as [r, g, b] lists.
TEXT_COLOURS = """
() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || parseFloat(style.opacity) === 0) continue;
    let hidden = false;
    for (let a = el; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.display === 'none' || parseFloat(s.opacity) === 0 || s.maxHeight === '0px') {
        hidden = true; break;
      }
    }
    if (hidden) continue;
    let bg = null;
    for (let a = el; a; a = a.parentElement) {
      const c = rgb(getComputedStyle(a).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c.slice(0, 3); break; }
    }
    if (!bg) bg = rgb(getComputedStyle(document.documentElement).backgroundColor);
    if (bg.length < 3) bg = [255, 255, 255];
    out.push({text: el.textContent.trim().slice(0, 40), fg: rgb(style.color).slice(0, 3),
              bg: bg});
  }
  return out;
}
"""


def hex_of(values: list[float]) -> str:
    return "#" + "".join(f"{round(v):02x}" for v in values[:3])


def _filled(rendered: RenderedEmail) -> str:
    return fill_placeholders(rendered.html, preview_values(make_settings()), escape=True)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample digest and bulletin emails and the web version, as files."""
    folder = tmp_path_factory.mktemp("chromium")
    settings = make_settings()
    forms = {
        "digest": _filled(render_edition_email(make_edition(omitted=3), settings, LINKS)),
        "digest-de": _filled(render_edition_email(make_edition(), settings, LINKS,
                                                  language="de")),
        "bulletin": _filled(render_bulletin_email(
            make_bulletin(settings, upcoming=(EVENTS[1],)), settings, BULLETIN_LINKS)),
        "web": render_edition_web(make_edition(), settings, LINKS),
        "long-words": _filled(render_edition_email(make_edition([replace(
            ALL_ITEMS[0], title="Antidiskriminierungsstellenfinanzierungsgesetzgebung" * 2,
            summary_html=f'<p>See https://www.eurocities.eu/{"x" * 150} for all.</p>')]),
            settings, LINKS)),
    }
    paths = {}
    for name, html in forms.items():
        paths[name] = folder / f"{name}.html"
        paths[name].write_text(html, encoding="utf-8")
    return paths


def _open(browser: Any, path: Path, width: int, scheme: str = "light") -> Any:
    context = browser.new_context(viewport={"width": width, "height": 800},
                                  color_scheme=scheme, java_script_enabled=True,
                                  offline=True)
    page = context.new_page()
    page.goto(path.as_uri())
    return page


@pytest.mark.parametrize("width", [375, 600])
@pytest.mark.parametrize("name", ["digest", "digest-de", "bulletin", "web", "long-words"])
def test_no_horizontal_scroll(browser: Any, pages: dict[str, Path], name: str,
                              width: int) -> None:
    page = _open(browser, pages[name], width)
    try:
        scroll, inner = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert inner == width
        assert scroll <= inner, f"{name} at {width}px scrolls sideways: {scroll}px wide"
        lang = page.evaluate("() => document.documentElement.lang")
        assert lang in ("en", "de")
        missing_alt = page.evaluate(
            "() => [...document.images].filter(i => !i.hasAttribute('alt')).length")
        assert missing_alt == 0
    finally:
        page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["digest", "bulletin"])
def test_every_visible_text_has_aa_contrast(browser: Any, pages: dict[str, Path], name: str,
                                            scheme: str) -> None:
    page = _open(browser, pages[name], 600, scheme)
    try:
        found = page.evaluate(TEXT_COLOURS)
    finally:
        page.context.close()
    assert len(found) > 20
    poor = [(f["text"], hex_of(f["fg"]), hex_of(f["bg"]),
             round(contrast_ratio(hex_of(f["fg"]), hex_of(f["bg"])), 2))
            for f in found if contrast_ratio(hex_of(f["fg"]), hex_of(f["bg"])) < 4.5]
    assert not poor, poor


def test_dark_mode_switches_to_dark_surfaces(browser: Any, pages: dict[str, Path]) -> None:
    def body_and_card(scheme: str) -> tuple[str, str]:
        page = _open(browser, pages["digest"], 600, scheme)
        try:
            values = page.evaluate("""() => [
                getComputedStyle(document.body).backgroundColor,
                getComputedStyle(document.querySelector('.card')).backgroundColor]""")
        finally:
            page.context.close()
        return values[0], values[1]

    light_body, light_card = body_and_card("light")
    dark_body, dark_card = body_and_card("dark")
    assert light_card == "rgb(255, 255, 255)"
    assert dark_body != light_body and dark_card != light_card
    luminance = sum(int(v) for v in dark_card[4:-1].split(","))
    assert luminance < 3 * 80, dark_card
