"""A bulletin whose ``send_at`` has not come is private: the real ``digest run`` does not
write its folder, list it in the archive or put it in a feed, and the web app answers 404
for it; a run after its time publishes it and sends it once. The same holds for a bulletin
nobody approved yet (a draft, or held by its lint errors): private until the approval and
the run after it. ``digest build --out DIR`` still shows it to the coordinator; ``digest
build`` into ``out/`` does not publish it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from digest.config import Environment, load_settings
from digest.jobs.context import Context
from digest.testing import ManualClock
from tests.conftest import approve_sample_bulletin, run_digest
from tests.web_app_server import serving

SLUG = "2019-03-wg-smart-social-inclusion"
TITLE = "Updates from WG Smart Social Inclusion"
SEND_AT = "2019-03-25T07:30:00+01:00"
BEFORE = "2019-03-18T08:00:00+01:00"
SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"


def _hold_until(project: Path, send_at: str) -> None:
    bulletin = project / "sample" / "bulletins" / f"{SLUG}.md"
    text = bulletin.read_text()
    assert "language: en\n" in text
    bulletin.write_text(text.replace("language: en\n", f"language: en\nsend_at: {send_at}\n"))
    approve_sample_bulletin(project)  # approved: only its send_at holds it


def _run(project: Path, *args: str, now: str) -> str:
    done = run_digest(project, *args, now=now)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def _outbox(project: Path) -> int:
    return len(list((project / "out" / "outbox").glob("*.eml")))


def _feeds_naming_it(project: Path) -> list[str]:
    feeds = load_settings(project / "schedules.yaml").feeds_dir
    return sorted(p.name for p in feeds.iterdir()
                  if p.is_file() and (SLUG in p.read_text() or TITLE in p.read_text()))


def _served(base: str) -> dict[str, tuple[int, bool]]:
    """What the web app answers for the bulletin's pages and the lists that could name it:
    (status, whether the answer names it)."""
    paths = (f"/bulletins/{SLUG}/", f"/bulletins/{SLUG}/{SLUG}.pdf", "/bulletins/",
             "/feeds/bulletins.atom", "/feeds/all.atom", "/")
    answers = {path: httpx.get(base + path, follow_redirects=True) for path in paths}
    return {path: (answer.status_code, SLUG in answer.text or TITLE in answer.text)
            for path, answer in answers.items()}


def _private(project: Path, base: str) -> None:
    assert not (project / "out" / "bulletins" / SLUG).exists()
    assert not _archive_lists_it(project)
    assert _feeds_naming_it(project) == []
    served = _served(base)
    assert served[f"/bulletins/{SLUG}/"][0] == 404
    assert served[f"/bulletins/{SLUG}/{SLUG}.pdf"][0] == 404
    assert not any(names for _, names in served.values()), served


def _archive_lists_it(project: Path) -> bool:
    archive = project / "out" / "bulletins" / "index.html"
    return archive.is_file() and SLUG in archive.read_text()


@contextmanager
def _serving(project: Path, now: str) -> Iterator[str]:
    """The web app of ``digest serve`` over the project's files, on a free local port."""
    settings = load_settings(project / "schedules.yaml")
    ctx = Context(settings=settings, env=Environment.read({"DIGEST_SECRET_KEY": SECRET}),
                  clock=ManualClock(datetime.fromisoformat(now)))
    with serving(ctx) as url:
        yield url


def test_a_bulletin_is_private_until_its_send_at_then_published_and_sent_once(
        project: Path) -> None:
    _hold_until(project, SEND_AT)
    stale = project / "out" / "bulletins" / SLUG
    stale.mkdir(parents=True)
    (stale / "index.html").write_text("published by an earlier run")
    (stale.parent / "index.html").write_text(f"an earlier archive listing {SLUG}")

    summary = _run(project, "run", "--once", now=BEFORE)
    assert f"bulletin:{SLUG}: not due until 2019-03-25 07:30, not published" in summary
    assert not stale.exists(), "what an earlier run published is withdrawn"
    assert not _archive_lists_it(project), "an archive page listing it is rewritten"
    assert _feeds_naming_it(project) == []
    sent_before = _outbox(project)
    with _serving(project, BEFORE) as base:
        assert httpx.get(f"{base}/bulletins/{SLUG}/").status_code == 404
        assert httpx.get(f"{base}/bulletins/{SLUG}/{SLUG}.pdf").status_code == 404

    _run(project, "run", "--once", now=SEND_AT)
    assert (stale / "index.html").is_file() and (stale / f"{SLUG}.pdf").is_file()
    assert _archive_lists_it(project)
    assert "bulletins.atom" in _feeds_naming_it(project)
    assert _outbox(project) == sent_before + 6, "to each of the six members"
    with _serving(project, SEND_AT) as base:
        page = httpx.get(f"{base}/bulletins/{SLUG}/")
        assert page.status_code == 200 and TITLE in page.text

    _run(project, "run", "--once", now="2019-03-25T09:00:00+01:00")
    assert _outbox(project) == sent_before + 6, "once"


def test_build_shows_a_held_bulletin_only_in_a_folder_nobody_is_served(
        project: Path, tmp_path: Path) -> None:
    _hold_until(project, SEND_AT)
    preview = tmp_path / "preview"
    _run(project, "build", "--out", str(preview), now=BEFORE)
    assert (preview / "bulletins" / SLUG / "index.html").is_file()
    assert (preview / "bulletins" / SLUG / "sample.eml").is_file()
    assert SLUG in (preview / "bulletins" / "index.html").read_text()
    assert _feeds_naming_it(project) == [], "the feeds are public wherever the build goes"

    _run(project, "build", now=BEFORE)
    assert not (project / "out" / "bulletins" / SLUG).exists()
    assert not _archive_lists_it(project)
    assert _feeds_naming_it(project) == []


@pytest.mark.parametrize("lint", ["fixed", "placeholder links"])
def test_a_bulletin_nobody_approved_is_private_until_approved_then_sent_once(
        project: Path, lint: str) -> None:
    bulletin = project / "sample" / "bulletins" / f"{SLUG}.md"
    if lint == "fixed":
        bulletin.write_text(bulletin.read_text().replace("](#)", "](https://www.eurocities.eu/)"))
    state = "draft, waiting for" if lint == "fixed" else "held: 7 lint errors"
    summary = _run(project, "run", "--once", now=BEFORE)
    assert f"bulletin:{SLUG}: {state}" in summary
    assert summary.rstrip().splitlines()[-1].startswith("to review it in the console: ")
    sent_before = _outbox(project)
    with _serving(project, BEFORE) as base:
        _private(project, base)
    # A second run, later, changes nothing: still nobody approved it.
    _run(project, "run", "--once", now="2019-03-25T09:00:00+01:00")
    assert _outbox(project) == sent_before
    with _serving(project, BEFORE) as base:
        _private(project, base)

    reason = [] if lint == "fixed" else ["--reason", "the links are known"]
    approved = run_digest(project, "approve", f"bulletin:{SLUG}", *reason, now=BEFORE)
    assert approved.returncode == 0, approved.stderr
    with _serving(project, BEFORE) as base:
        _private(project, base)  # approved, but not yet sent by a run

    summary = _run(project, "run", "--once", now="2019-03-25T10:00:00+01:00")
    assert "to review" not in summary
    assert _outbox(project) == sent_before + 6, "to each of the six members"
    with _serving(project, BEFORE) as base:
        served = _served(base)
    assert served[f"/bulletins/{SLUG}/"] == (200, True)
    assert served["/bulletins/"] == (200, True) and served["/feeds/bulletins.atom"] == (200, True)
    _run(project, "run", "--once", now="2019-03-25T11:00:00+01:00")
    assert _outbox(project) == sent_before + 6, "once"
