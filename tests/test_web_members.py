"""The members' web app on a real server (uvicorn on 127.0.0.1) spoken to with httpx:
one-click unsubscribe (RFC 8058), the one-button page, preferences, bad tokens, and the
published files served read-only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from digest.config import Environment, Settings
from digest.jobs.context import Context
from digest.models import Subscriber, SubscriberStatus
from digest.store import subscribers
from digest.testing import ManualClock
from digest.tokens import make_token
from tests.mail_server import free_port, wait_for
from tests.web_app_server import serving

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Context, str]]:
    settings = Settings.model_validate({
        "site": {"title": "Social Affairs Forum", "base_url": "https://forum.example.org/digest",
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(tmp_path)},
        "themes": {"culture": {"title": "Culture"}, "economy": {"title": "Economy"}},
        "digests": [{"id": "weekly", "title": "Weekly", "cron": "0 8 * * mon"}],
        "config_path": str(tmp_path / "schedules.yaml"),
    })
    ctx = Context(settings=settings, env=Environment(None, None, None, SECRET, None),
                  clock=ManualClock(NOW))
    with ctx.db.transaction() as c:
        for address in ("ana@example.org", "ben@example.org"):
            subscribers.add(c, Subscriber(email=address, name="", language="en",
                                          digests=("weekly",)), NOW)
    (tmp_path / "out" / "editions" / "weekly" / "1").mkdir(parents=True)
    (tmp_path / "out" / "editions" / "weekly" / "1" / "index.html").write_text("<p>web v1</p>")
    (tmp_path / "out" / "outbox").mkdir()
    (tmp_path / "out" / "outbox" / "secret.eml").write_text("a member's message")
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "all.atom").write_text("<feed/>")
    with serving(ctx) as url:
        yield ctx, url


def member(ctx: Context, email: str) -> Subscriber:
    with ctx.db.transaction() as c:
        found = [m for m in subscribers.all_members(c) if m.email == email]
    return found[0]


def token(ctx: Context, email: str, purpose: str = "unsubscribe") -> str:
    found = member(ctx, email)
    assert found.id is not None
    return make_token(ctx.secret, found.id, purpose)  # type: ignore[arg-type]


def test_one_click_post_unsubscribes_at_once(site: tuple[Context, str]) -> None:
    ctx, base = site
    url = f"{base}/u/{token(ctx, 'ana@example.org')}"
    answer = httpx.post(url, content=b"List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    assert "unsubscribed" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert member(ctx, "ana@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert member(ctx, "ben@example.org").status is SubscriberStatus.ACTIVE
    # Under the site's path too, as the links in the mail carry it; and again is harmless.
    again = httpx.post(f"{base}/digest/u/{token(ctx, 'ana@example.org')}",
                       files={"List-Unsubscribe": (None, "One-Click")})  # multipart
    assert again.status_code == 200


def test_get_shows_one_button_and_changes_nothing(site: tuple[Context, str]) -> None:
    ctx, base = site
    path = f"/u/{token(ctx, 'ben@example.org')}"
    page = httpx.get(base + path)
    assert page.status_code == 200
    assert page.text.count("<button") == 1
    # Relative to the page (/u/<token>, /digest/u/<token>): posts back to itself.
    assert f'action="{path.rsplit("/", 1)[1]}"' in page.text and 'method="post"' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert member(ctx, "ben@example.org").status is SubscriberStatus.ACTIVE


@pytest.mark.parametrize("bad", ["1.AAAA", "garbage", "preview", "test", "0.x"])
def test_a_bad_token_changes_nothing_and_gets_404(site: tuple[Context, str], bad: str) -> None:
    ctx, base = site
    assert httpx.post(f"{base}/u/{bad}", content=b"List-Unsubscribe=One-Click").status_code == 404
    assert httpx.get(f"{base}/p/{bad}").status_code == 404
    assert httpx.post(f"{base}/p/{bad}", data={"themes": "culture"}).status_code == 404
    assert {m.status for m in (member(ctx, "ana@example.org"),
                               member(ctx, "ben@example.org"))} == {SubscriberStatus.ACTIVE}


def test_a_token_for_one_purpose_or_member_does_not_work_for_another(
        site: tuple[Context, str]) -> None:
    ctx, base = site
    preferences = token(ctx, "ana@example.org", "preferences")
    assert httpx.post(f"{base}/u/{preferences}").status_code == 404
    forged = token(ctx, "ana@example.org").replace(
        str(member(ctx, "ana@example.org").id), str(member(ctx, "ben@example.org").id), 1)
    assert httpx.post(f"{base}/u/{forged}").status_code == 404
    assert member(ctx, "ben@example.org").status is SubscriberStatus.ACTIVE


def test_preferences_change_themes_and_language(site: tuple[Context, str]) -> None:
    ctx, base = site
    url = f"{base}/p/{token(ctx, 'ben@example.org', 'preferences')}"
    page = httpx.get(url)
    assert page.status_code == 200
    assert 'value="culture"' in page.text and 'value="de"' in page.text
    saved = httpx.post(url, data={"themes": ["culture", "economy"], "language": "de"})
    assert saved.status_code == 200 and "Gespeichert." in saved.text  # in the new language
    changed = member(ctx, "ben@example.org")
    assert (changed.themes, changed.language) == (("culture", "economy"), "de")
    refused = httpx.post(url, data={"themes": ["nonsense"], "language": "de"})
    assert refused.status_code == 400
    assert member(ctx, "ben@example.org").themes == ("culture", "economy")
    assert httpx.post(url, data={"language": "xx-<script>"}).status_code == 400
    everything = httpx.post(url, data={"language": "en"})  # no theme ticked: all of them
    assert everything.status_code == 200 and member(ctx, "ben@example.org").themes == ()


def test_an_unsubscribed_member_can_subscribe_again_from_preferences(
        site: tuple[Context, str]) -> None:
    ctx, base = site
    httpx.post(f"{base}/u/{token(ctx, 'ana@example.org')}",
               content=b"List-Unsubscribe=One-Click")
    url = f"{base}/p/{token(ctx, 'ana@example.org', 'preferences')}"
    assert "Subscribe me again" in httpx.get(url).text
    httpx.post(url, data={"language": "en", "subscribe": "1"})
    assert member(ctx, "ana@example.org").status is SubscriberStatus.ACTIVE


def test_published_files_are_served_and_the_outbox_is_not(site: tuple[Context, str]) -> None:
    _, base = site
    assert httpx.get(f"{base}/editions/weekly/1/").text == "<p>web v1</p>"
    assert httpx.get(f"{base}/digest/editions/weekly/1/").status_code == 200
    assert httpx.get(f"{base}/feeds/all.atom").text == "<feed/>"
    assert httpx.get(f"{base}/outbox/secret.eml").status_code == 404
    assert httpx.get(f"{base}/editions/../outbox/secret.eml").status_code == 404
    assert httpx.post(f"{base}/feeds/all.atom").status_code == 405
    assert httpx.get(f"{base}/").status_code == 200


def test_the_feeds_list_is_served_as_opml(site: tuple[Context, str]) -> None:
    ctx, base = site
    (ctx.settings.feeds_dir / "index.opml").write_text('<?xml version="1.0"?><opml/>')
    answer = httpx.get(f"{base}/feeds/index.opml")
    assert answer.status_code == 200 and answer.text.endswith("<opml/>")
    assert answer.headers["content-type"] == "text/x-opml; charset=utf-8"
    assert httpx.get(f"{base}/feeds/all.atom").headers["content-type"] != \
        "text/x-opml; charset=utf-8"  # only what mimetypes does not know is typed here


def test_the_front_page_links_to_the_subscribe_page(site: tuple[Context, str]) -> None:
    _, base = site
    page = httpx.get(f"{base}/")
    assert '<a href="https://forum.example.org/digest/subscribe">Subscribe</a>' in page.text
    french = httpx.get(f"{base}/", headers={"Accept-Language": "fr"})
    assert '/digest/subscribe">S’abonner</a>' in french.text
    assert httpx.get(f"{base}/subscribe").status_code == 200


def test_digest_serve_runs_the_app_until_sigterm(project: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import run_digest

    port = free_port()
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace("port: 8040", f"port: {port}"))
    assert run_digest(project, "subscribers", "add", "eva@example.org").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["DIGEST_SECRET_KEY"] = SECRET
    server = subprocess.Popen([sys.executable, "-m", "digest", "serve"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
            except httpx.TransportError:
                return False

        failed = server.poll() is not None and server.stderr is not None
        assert wait_for(up, 30), server.stderr.read() if failed and server.stderr else ""
        from digest.store import Database

        database = Database(f"sqlite:///{project / 'var' / 'digest.db'}")
        with database.transaction() as c:
            eva = next(m for m in subscribers.all_members(c) if m.email == "eva@example.org")
        assert eva.id is not None
        one_click = httpx.post(f"http://127.0.0.1:{port}/u/"
                               f"{make_token(SECRET.encode(), eva.id, 'unsubscribe')}",
                               content=b"List-Unsubscribe=One-Click")
        assert one_click.status_code == 200
        with database.transaction() as c:
            gone = subscribers.by_id(c, eva.id)
        assert gone is not None and gone.status is SubscriberStatus.UNSUBSCRIBED
        database.close()
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out
