"""The web version in the member's language: an edition is published once in the site's
language (``<n>/index.html``, as always) and once per other language its members read
(``<n>/<language>/index.html``), and each member's "View in browser" and "Web version"
links open the one in the language of their email. Checked on the sample, run for real."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.links import edition_links, web_language_folder
from digest.testing import build_settings
from tests.conftest import ROOT, approve_sample_bulletin, run_digest
from tests.mail_server import free_port
from tests.test_accessibility import axe_violations
from tests.test_web_safety import SECRET, Served, _new_project, start_serve

EDITION = "https://forum.example.org/digest/editions/weekly/1/"
BULLETIN = "2019-03-wg-smart-social-inclusion"
ANNA, FRANCOIS, ZOE = ("anna.kowalska@example.org", "francois.lefevre@example.net",
                       "zoe.mueller@example.com")
CLAIRE = "claire.martin@example.com"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample after one run: the weekly edition and the bulletin sent to files."""
    folder = _new_project(tmp_path_factory.mktemp("web-versions"))
    approve_sample_bulletin(folder)
    made = run_digest(folder, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert made.returncode == 0, made.stdout + made.stderr
    return folder


def messages(project: Path) -> dict[tuple[str, str], EmailMessage]:
    """Every message of the outbox by (recipient, "digest" or "bulletin")."""
    found: dict[tuple[str, str], EmailMessage] = {}
    for path in (project / "out" / "outbox").rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        kind = "bulletin" if "bulletin" in str(message["List-Id"]) else "digest"
        found[(str(message["To"]).split("<")[-1].rstrip(">"), kind)] = message
    return found


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def web_links(message: EmailMessage) -> set[str]:
    """Where the message's "View in browser" and "Web version" links go."""
    text, html = parts(message)
    links = set(re.findall(r'<a href="([^"]+)"[^>]*>(?:View in browser|Voir dans le '
                           r'navigateur|Im Browser ansehen|Web version|Version web|'
                           r'Webversion)</a>', html))
    in_text = set(re.findall(r"https://\S+/editions/weekly/1/\S*", text))
    assert in_text, text
    return links | {url for url in in_text if not url.endswith(".pdf")}


def test_an_edition_is_published_in_each_language_its_members_read(project: Path) -> None:
    folder = project / "out" / "editions" / "weekly" / "1"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("index.html")) == \
        ["de/index.html", "fr/index.html", "index.html"]
    french = (folder / "fr" / "index.html").read_text(encoding="utf-8")
    german = (folder / "de" / "index.html").read_text(encoding="utf-8")
    english = (folder / "index.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in french and '<html lang="de">' in german
    assert '<html lang="en">' in english
    assert "Télécharger le PDF" in french and "18 mars 2019" in french
    assert '<span class="tag">Coopération</span>' in french
    assert '<span class="tag">Zusammenarbeit</span>' in german
    assert '<span class="tag">Cooperation</span>' in english and "Coopération" not in english
    # Every version lists every item (not a member's narrowed variant) and the same PDF.
    count = english.count('<article class="item">')
    assert count > 3 and french.count('<article class="item">') == count
    pdf = f'href="{EDITION}weekly-1.pdf"'
    assert pdf in french and pdf in german


def test_view_in_browser_opens_the_member_language(project: Path) -> None:
    sent = messages(project)
    assert web_links(sent[(FRANCOIS, "digest")]) == {f"{EDITION}fr/"}
    assert web_links(sent[(CLAIRE, "digest")]) == {f"{EDITION}fr/"}
    assert web_links(sent[(ZOE, "digest")]) == {f"{EDITION}de/"}
    assert web_links(sent[(ANNA, "digest")]) == {EDITION}
    text, _ = parts(sent[(FRANCOIS, "digest")])
    assert "Voir dans le navigateur:" in text and f"\n{EDITION}fr/" in text.replace("\r\n", "\n")


def test_a_bulletin_links_to_its_one_web_version_in_its_language(project: Path) -> None:
    """A bulletin is written in one language, its email too: its web version is that one,
    whoever reads it."""
    page = (project / "out" / "bulletins" / BULLETIN / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    _, html = parts(messages(project)[(FRANCOIS, "bulletin")])
    assert f'href="https://forum.example.org/digest/bulletins/{BULLETIN}/"' in html
    assert not (project / "out" / "bulletins" / BULLETIN / "fr").exists()


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[Served]:
    site = start_serve(project, free_port())
    yield site
    code, err = site.stop()
    assert code == 0, err


def test_digest_serve_answers_each_language_version(served: Served, browser: Any) -> None:
    answer = httpx.get(f"{served.url}/editions/weekly/1/fr/")
    assert answer.status_code == 200 and '<html lang="fr">' in answer.text
    moved = httpx.get(f"{served.url}/editions/weekly/1/de", follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == f"{EDITION}de/"
    assert httpx.get(f"{served.url}/editions/weekly/1/es/").status_code == 404
    for width in (375, 1024):
        violations = axe_violations(browser, f"{served.url}/editions/weekly/1/fr/", width)
        assert not violations, [v["id"] for v in violations]


def test_an_approved_draft_publishes_its_language_versions(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """A draft publishes nothing; once approved, the run that sends it writes its web
    versions from the variants it was planned with (the forms are rendered again)."""
    folder = _new_project(tmp_path_factory.mktemp("approved"))
    config = folder / "schedules.yaml"
    config.write_text(config.read_text().replace("approval: false", "approval: true", 1))
    env = {"DIGEST_SECRET_KEY": SECRET}
    made = run_digest(folder, "run", "--once", env=env)
    assert made.returncode in (0, 1), made.stdout + made.stderr
    edition = folder / "out" / "editions" / "weekly" / "1"
    assert not edition.exists()
    approved = run_digest(folder, "approve", "weekly/1", env=env)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    again = run_digest(folder, "run", "--once", env=env)
    assert again.returncode in (0, 1), again.stdout + again.stderr
    assert (edition / "fr" / "index.html").is_file() and (edition / "de" / "index.html").is_file()
    assert '<html lang="de">' in (edition / "de" / "index.html").read_text(encoding="utf-8")
    sent = messages(folder)
    assert web_links(sent[(ZOE, "digest")]) == {f"{EDITION}de/"}


def test_a_language_folder_is_a_lower_case_tag_and_none_for_the_site() -> None:
    settings = build_settings(ROOT, site={"base_url": "https://forum.example.org/digest",
                                          "language": "en-GB"})
    assert web_language_folder(settings, "pt-BR") == "pt-br"
    assert web_language_folder(settings, "EN_gb") is None  # the site's own version
    assert web_language_folder(settings, None) is None
    assert web_language_folder(settings, "../../var") is None  # never a path
    assert web_language_folder(settings, "fr/..") is None
    links = edition_links(settings, "weekly", 3, "de")
    assert links.web_url == "https://forum.example.org/digest/editions/weekly/3/de/"
    assert links.pdf_url.endswith("/weekly/3/weekly-3.pdf")  # one PDF for all
    assert edition_links(settings, "weekly", 3).web_url.endswith("/weekly/3/")
