"""The web version and the archive: every email links to a page listing every edition."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from digest.render.web import ArchiveEntry, render_archive
from tests.conftest import approve_sample_bulletin, run_digest
from tests.support import BASE, make_settings


def test_the_archive_page_lists_editions_newest_first() -> None:
    entries = [ArchiveEntry(title="Social Affairs weekly", when=day, number=number, items=n,
                            web_url=f"{BASE}/editions/weekly/{number}/",
                            pdf_url=f"{BASE}/editions/weekly/{number}/weekly-{number}.pdf")
               for number, day, n in [(2, date(2019, 3, 25), 1), (1, date(2019, 3, 18), 17)]]
    html = render_archive(make_settings(), "Social Affairs weekly", f"{BASE}/editions/weekly/",
                          entries, language="fr")
    assert html.startswith('<!DOCTYPE html>\n<html lang="fr">')
    assert html.index("#2 · ") < html.index("#1 · ")
    assert "25 mars 2019 · 1 article" in html and "18 mars 2019 · 17 articles" in html
    assert f'href="{BASE}/editions/weekly/1/"' in html
    assert "Toutes les éditions" in html
    empty = render_archive(make_settings(), "Social Affairs weekly", f"{BASE}/editions/weekly/",
                           [])
    assert "No edition yet." in empty and "application/pdf" not in empty


def test_a_run_writes_the_archives_the_emails_link_to(project: Path) -> None:
    approve_sample_bulletin(project)
    result = run_digest(project, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    out = project / "out"
    archive = out / "editions" / "weekly" / "index.html"
    assert str(archive) in result.stdout
    html = archive.read_text()
    assert f'href="{BASE}/editions/weekly/1/"' in html and "17 items" in html
    email = (out / "editions" / "weekly" / "1" / "email.html").read_text()
    footer = email[email.index("You receive this email"):]
    assert f'href="{BASE}/editions/weekly/"' in footer  # the archive page above
    assert f'href="{BASE}/editions/weekly/1/"' in footer  # and the web version
    bulletins = (out / "bulletins" / "index.html").read_text()
    assert "Updates from WG Smart Social Inclusion" in bulletins
    assert re.search(rf'href="{BASE}/bulletins/2019-03-wg-smart-social-inclusion/"', bulletins)
    bulletin_email = (out / "bulletins" / "2019-03-wg-smart-social-inclusion"
                      / "email.html").read_text()
    assert f'href="{BASE}/bulletins/"' in bulletin_email
    # a second run (nothing new) keeps the archive listing the same editions
    again = run_digest(project, "run", "--once")
    assert again.returncode == 0
    assert archive.read_text() == html


def _alternates(html: str) -> list[str]:
    """The feeds a page points feed readers to (autodiscovery), in order."""
    return re.findall(r'<link rel="alternate" type="application/atom\+xml" [^>]*href="([^"]+)"',
                      html)


def test_the_bulletins_archive_shows_days_group_and_place_and_its_feed() -> None:
    settings = make_settings()
    entries = [
        ArchiveEntry(title="Spring", when=date(2019, 3, 25), end=date(2019, 3, 27),
                     group="WG Smart Social Inclusion", place="Glasgow",
                     web_url=f"{BASE}/bulletins/spring/", pdf_url=f"{BASE}/b/spring.pdf"),
        ArchiveEntry(title="Winter", when=date(2019, 1, 8), group="WG Employment",
                     web_url=f"{BASE}/bulletins/winter/", pdf_url=f"{BASE}/b/winter.pdf"),
    ]
    html = render_archive(settings, "Bulletins", f"{BASE}/bulletins/", entries,
                          bulletins=True)
    assert "25–27 March 2019 · WG Smart Social Inclusion · Glasgow · " in html
    assert "8 January 2019 · WG Employment · <a" in html  # no place, no empty separator
    assert _alternates(html) == [f"{BASE}/feeds/all.atom", f"{BASE}/feeds/bulletins.atom"]
    editions = render_archive(settings, "Weekly", f"{BASE}/editions/weekly/", [])
    assert _alternates(editions) == [f"{BASE}/feeds/all.atom"]
