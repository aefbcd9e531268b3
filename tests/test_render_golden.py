"""Golden files: the sample digest and bulletin in every form, as ``digest build`` and
``digest preview --format mjml`` write them, and what ``digest run --once`` publishes (the
feeds, the OPML list, the feeds' index and the archive pages), compared with
``tests/golden/``.

Volatile values (Message-ID, Date, MIME boundaries) are normalised before comparing. A
missing golden file fails; regenerate deliberately, then read the diff before committing:

    DIGEST_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_render_golden.py
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, approve_sample_bulletin, run_digest

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DIGEST_UPDATE_GOLDEN") == "1"
BULLETIN = "2019-03-wg-smart-social-inclusion"
FORMS = ["email.html", "email.txt", "email.mjml", "headers.eml", "index.html"]


def normalise_headers(raw: bytes) -> str:
    """The header block of a message with its per-send values replaced by markers."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    head = re.sub(r"^Message-ID: <[^>]+>", "Message-ID: <MESSAGE-ID>", head, flags=re.M)
    head = re.sub(r"^Date: .*$", "Date: <DATE>", head, flags=re.M)
    head = re.sub(r'boundary="[^"]+"', 'boundary="<BOUNDARY>"', head)
    return head.replace("\r\n", "\n") + "\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Every form of the sample digest's next edition and of the sample bulletin."""
    project = tmp_path_factory.mktemp("golden")
    shutil.copy(ROOT / "schedules.yaml", project / "schedules.yaml")
    shutil.copytree(ROOT / "sample", project / "sample")
    for args in (["collect"], ["build", "--out", "build"]):
        result = run_digest(project, *args)
        assert result.returncode == 0, result.stdout + result.stderr
    folders = {"digest": project / "build" / "editions" / "weekly" / "1",
               "bulletin": project / "build" / "bulletins" / BULLETIN}
    targets = {"digest": "weekly", "bulletin": f"sample/bulletins/{BULLETIN}.md"}
    forms: dict[str, dict[str, str]] = {}
    for name, folder in folders.items():
        mjml = project / f"{name}.mjml"
        result = run_digest(project, "preview", targets[name], "--format", "mjml", "--out",
                            str(mjml))
        # Written either way; the sample bulletin's placeholder links are lint errors.
        assert result.returncode == (1 if name == "bulletin" else 0), \
            result.stdout + result.stderr
        forms[name] = {
            "email.html": (folder / "email.html").read_text(encoding="utf-8"),
            "email.txt": (folder / "email.txt").read_text(encoding="utf-8"),
            "email.mjml": mjml.read_text(encoding="utf-8"),
            "headers.eml": normalise_headers((folder / "sample.eml").read_bytes()),
            "index.html": (folder / "index.html").read_text(encoding="utf-8"),
        }
    return forms


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ["digest", "bulletin"])
def test_matches_golden(built: dict[str, dict[str, str]], name: str, form: str) -> None:
    _compare(built[name][form], GOLDEN / name / form, f"{name} {form}")


PUBLISHED = {
    "all.atom": "feeds/all.atom",
    "all.rss": "feeds/all.rss",
    "cooperation.atom": "feeds/cooperation.atom",
    "bulletins.atom": "feeds/bulletins.atom",
    "bulletins.rss": "feeds/bulletins.rss",
    "index.opml": "feeds/index.opml",
    "feeds-index.html": "feeds/index.html",
    "archive-weekly.html": "out/editions/weekly/index.html",
    "archive-bulletins.html": "out/bulletins/index.html",
}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What the main job publishes on the sample: feeds, OPML, the feeds' index, archives."""
    project = tmp_path_factory.mktemp("published")
    shutil.copy(ROOT / "schedules.yaml", project / "schedules.yaml")
    shutil.copytree(ROOT / "sample", project / "sample")
    approve_sample_bulletin(project)
    result = run_digest(project, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    published = {name: (project / path).read_text(encoding="utf-8")
                 for name, path in PUBLISHED.items()}
    # A PDF's bytes vary with the machine (fonts, paths): its size in the feed's enclosure
    # is checked against the file itself, then masked.
    pdf = project / "out" / "bulletins" / BULLETIN / f"{BULLETIN}.pdf"
    for name in ("bulletins.atom", "bulletins.rss"):
        feed = published[name]
        assert f'length="{pdf.stat().st_size}"' in feed, name
        published[name] = re.sub(r'length="\d+"', 'length="<PDF SIZE>"', feed)
    return published


def _compare(actual: str, path: Path, what: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"{path} is missing: run DIGEST_UPDATE_GOLDEN=1 pytest {__file__}")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(list(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            str(path), "rendered now", n=1))[:60])
        pytest.fail(f"{what} differs from its golden file "
                    f"(DIGEST_UPDATE_GOLDEN=1 to accept):\n{diff}")


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_matches_golden(published: dict[str, str], name: str) -> None:
    _compare(published[name], GOLDEN / "published" / name, name)


def test_golden_headers_hide_only_volatile_values() -> None:
    raw = (b"From: a@example.org\r\nDate: Mon, 18 Mar 2019 08:00:00 +0100\r\n"
           b"Message-ID: <abc@example.org>\r\nContent-Type: multipart/alternative;\r\n"
           b' boundary="=_digest_123"\r\n\r\nbody')
    assert normalise_headers(raw) == (
        "From: a@example.org\nDate: <DATE>\nMessage-ID: <MESSAGE-ID>\n"
        'Content-Type: multipart/alternative;\n boundary="<BOUNDARY>"\n')
