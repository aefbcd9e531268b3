"""Every email and web page meets WCAG 2.1 AA as axe-core judges it in Chromium.

Members include public bodies bound by EN 301 549, so each form the product makes (digest
and bulletin emails in each language, the web versions, the archive pages, the feeds'
index) and each page a real ``digest serve`` answers (the members' pages in English and
French, the published folders, the answers to a form, a page not found) is opened in
Debian's Chromium at a phone's and a desktop's width, axe-core is injected, and the WCAG
2.0/2.1 A and AA rules must find no violation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from digest.config import SourceSettings
from digest.jobs.curated import note_html
from digest.jobs.forms import fill_placeholders, preview_values
from digest.models import Edition, Item, RenderedEmail
from digest.publish import feed_catalogue
from digest.render.email import render_bulletin_email, render_edition_email
from digest.render.feeds import render_feeds_index
from digest.render.web import (
    ArchiveEntry,
    render_archive,
    render_bulletin_web,
    render_edition_web,
)
from digest.sources import poll_source
from digest.testing import build_settings
from tests.external_tools import axe_script
from tests.support import (
    BULLETIN_LINKS,
    EVENTS,
    LINKS,
    make_bulletin,
    make_edition,
    make_settings,
)
from tests.test_sources_formats import CLOCK
from tests.test_web_safety import Served, site  # noqa: F401 (the served sample site)

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _email(rendered: RenderedEmail) -> str:
    return fill_placeholders(rendered.html, preview_values(make_settings()), escape=True)


def _noted() -> Edition:
    """An edition with an editor's note (a curated draft): a heading, a list, a link."""
    return replace(make_edition(), note_html=note_html(
        "Welcome back.\n\n- the [agenda](https://example.org/agenda)\n- *a second point*"))


def forms() -> dict[str, str]:
    """Every kind of page the product makes, in English and in another language."""
    settings, french = make_settings(), make_settings(language="fr")
    bulletin = make_bulletin(settings, upcoming=(EVENTS[1],))
    archive = [ArchiveEntry(title="Social Affairs weekly", when=datetime(2019, 3, 18, tzinfo=UTC),
                            web_url=LINKS.web_url, pdf_url=LINKS.pdf_url, number=12, items=17)]
    return {
        "digest-email": _email(render_edition_email(make_edition(omitted=3), settings, LINKS)),
        "digest-email-de": _email(render_edition_email(make_edition(), settings, LINKS,
                                                       language="de")),
        "bulletin-email": _email(render_bulletin_email(bulletin, settings, BULLETIN_LINKS)),
        "digest-web": render_edition_web(make_edition(omitted=3), settings, LINKS),
        "digest-web-fr": render_edition_web(make_edition(), french, LINKS),
        "digest-email-note": _email(render_edition_email(_noted(), settings, LINKS)),
        "digest-web-note": render_edition_web(_noted(), french, LINKS),
        "bulletin-web": render_bulletin_web(bulletin, settings, BULLETIN_LINKS),
        "archive": render_archive(settings, "Social Affairs weekly", LINKS.archive_url,
                                  archive),
        "archive-empty": render_archive(settings, "Bulletins", LINKS.archive_url, []),
        "feeds-index": render_feeds_index(feed_catalogue(settings), settings),
    }


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("axe")
    paths = {}
    for name, html in forms().items():
        paths[name] = folder / f"{name}.html"
        paths[name].write_text(html, encoding="utf-8")
    return paths


def axe_violations(browser: Any, path: Path | str, width: int,
                   html: str | None = None) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 AA violations on a page (a file, a served URL, or ``html`` as a
    browser would show it), each with its rule and nodes. The page's own CSP is bypassed
    only to let axe in."""
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  offline=isinstance(path, Path), bypass_csp=True)
    try:
        page = context.new_page()
        if html is not None:
            page.set_content(html)
        else:
            page.goto(path.as_uri() if isinstance(path, Path) else path)
        page.add_script_tag(path=str(axe_script()))
        result = page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})).violations", WCAG_AA)
    finally:
        context.close()
    assert isinstance(result, list)
    return result


@pytest.mark.parametrize("width", [375, 1024])
@pytest.mark.parametrize("name", list(forms()))
def test_no_wcag_aa_violation(browser: Any, pages: dict[str, Path], name: str,
                              width: int) -> None:
    violations = axe_violations(browser, pages[name], width)
    summary = [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
                "nodes": [n["html"][:160] for n in v["nodes"][:3]]} for v in violations]
    assert not violations, json.dumps(summary, indent=1)


def _assert_none(violations: list[dict[str, Any]], where: str) -> None:
    summary = [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
                "nodes": [n["html"][:160] for n in v["nodes"][:3]]} for v in violations]
    assert not violations, f"{where}: " + json.dumps(summary, indent=1)


def test_every_served_page_and_form_answer(browser: Any, site: Served) -> None:  # noqa: F811
    """The members' pages and the published folders as ``digest serve`` answers them."""
    anna, francois = "anna.kowalska@example.org", "francois.lefevre@example.net"
    paths = ["/", "/editions/", "/editions/weekly/", "/editions/weekly/1/", "/bulletins/",
             "/feeds/", "/u/not-a-token", f"/p/{site.token(anna, 'preferences')}",
             f"/u/{site.token(anna, 'unsubscribe')}",
             f"/p/{site.token(francois, 'preferences')}", "/no-such-page",
             "/feeds/missing.atom"]  # the error pages (``digest.web.errors``)
    for path in paths:
        for width in (375, 1024):
            _assert_none(axe_violations(browser, site.url + path, width), path)
    import httpx

    answers = {
        "unsubscribed": httpx.post(f"{site.url}/u/{site.token(anna, 'unsubscribe')}").text,
        "saved": httpx.post(f"{site.url}/p/{site.token(francois, 'preferences')}",
                            data={"language": "fr", "themes": "culture"}).text,
        "not allowed": httpx.put(f"{site.url}/subscribe").text,
    }
    for name, html in answers.items():
        _assert_none(axe_violations(browser, name, 375, html=html), name)


def test_axe_finds_what_it_should(browser: Any, tmp_path: Path) -> None:
    """The check can fail: a page without lang, an image without alt and grey on white."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>x</title></head><body>'
                    '<img src="data:," ><p style="color:#bbb">faint</p></body></html>')
    rules = {v["id"] for v in axe_violations(browser, page, 600)}
    assert {"html-has-lang", "image-alt", "color-contrast"} <= rules


HOSTILE_SUMMARIES = [
    '<p>A photo <img src="https://evil.example.net/i.png"></p>',
    '<p><a href="https://evil.example.net/z"><img src="https://evil.example.net/j.png"></a></p>',
    '<p><a href="https://evil.example.net/q"></a> and <a href="https://evil.example.net/r">'
    '<img src="https://evil.example.net/x.png" alt=""></a></p>',
    '<p><a href="https://evil.example.net/s">&nbsp;&#x200B;</a>'
    '<img src="data:image/png;base64,AAAA"></p>',
]


def collected(tmp_path: Path, summaries: list[str]) -> list[Item]:
    """The summaries as the sources stage makes them of a feed's entries."""
    entries = "".join(
        f"<item><title>Item {n}</title><link>https://evil.example.net/{n}</link>"
        f"<description>{escape(summary)}</description><category>cooperation</category>"
        f"<pubDate>Thu, 14 Mar 2019 10:0{n}:00 +0000</pubDate></item>"
        for n, summary in enumerate(summaries))
    (tmp_path / "f.rss").write_text(f'<rss version="2.0"><channel><title>F</title>'
                                    f"<link>https://evil.example.net/</link>{entries}"
                                    "</channel></rss>")
    result = poll_source(SourceSettings.model_validate({"id": "evil", "type": "feed",
                                                        "url": "f.rss"}),
                         build_settings(tmp_path, themes={"cooperation": "Cooperation"}), CLOCK)
    assert result.error is None and result.items, result.error
    return list(result.items)


def test_a_feeds_images_and_links_without_a_name_break_no_page(browser: Any,
                                                               tmp_path: Path) -> None:
    """A feed's author writes part of every email and web version: an image without alt
    text or a link with nothing to read in one item made each form of the edition fail."""
    settings = make_settings()
    edition = make_edition(collected(tmp_path, HOSTILE_SUMMARIES))
    for name, html in {"email": _email(render_edition_email(edition, settings, LINKS)),
                       "web": render_edition_web(edition, settings, LINKS)}.items():
        _assert_none(axe_violations(browser, name, 375, html=html), name)
