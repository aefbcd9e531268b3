"""Only a POST changes anything: HEAD (which Starlette answers on every GET route), OPTIONS,
PUT, DELETE and PATCH on every route that acts (``/u``, ``/p``, ``/confirm``, ``/p/<t>/erase``
and every console action) leave every table as it was, under the site's path too."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from digest.config import Environment, Settings
from digest.jobs.context import Context
from digest.models import Subscriber, SubscriberStatus
from digest.store import subscribers
from digest.store.schema import metadata
from digest.testing import ManualClock
from digest.tokens import make_token
from digest.web.admin import admin_routes
from digest.web.admin.access import Console, Form, SignedIn
from digest.web.app import create_app
from tests.admin_client import signed_in

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
APPROVER = "ap@example.org"
OTHERS = ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"]
# A value for each path parameter of the console's routes.
PARAMS = {"slug": "spring", "digest": "weekly", "number": "1", "member_id": "1"}


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    settings = Settings.model_validate({
        "site": {"title": "Social Affairs Forum", "base_url": "https://forum.example.org/digest",
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(tmp_path)},
        "themes": {"culture": {"title": "Culture"}, "economy": {"title": "Economy"}},
        "digests": [{"id": "weekly", "title": "Weekly", "cron": "0 8 * * mon"},
                    {"id": "monthly", "title": "Monthly", "cron": "0 8 1 * *"}],
        "coordinators": [{"email": APPROVER, "role": "approver"}],
        "config_path": str(tmp_path / "schedules.yaml"),
    })
    context = Context(settings=settings, env=Environment(None, None, None, SECRET, None),
                      clock=ManualClock(NOW))
    with context.db.transaction() as c:
        subscribers.add(c, Subscriber(email="ana@example.org", name="Ana", language="en",
                                      digests=("weekly", "monthly"), themes=("culture",)), NOW)
    yield context
    context.close()


def everything(ctx: Context) -> dict[str, list[Any]]:
    """Every row of every table."""
    with ctx.db.transaction() as c:
        return {table.name: sorted(map(repr, c.execute(select(table)).all()))
                for table in metadata.sorted_tables}


def confirm_path(client: TestClient, ctx: Context) -> str:
    """A pending member's confirmation link, through the real subscribe form."""
    answer = client.post("/subscribe", data={"email": "nina@example.org", "lang": "en",
                                             "language": "en", "digests": "weekly",
                                             "consent": "1"})
    assert answer.status_code == 200, answer.text[:500]
    for path in sorted((ctx.settings.out_dir / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        assert body is not None
        found = re.search(r"https://forum\.example\.org/digest(/confirm/\S+)",
                          str(body.get_content()))
        if found:
            return found.group(1)
    raise AssertionError("no confirmation link mailed")


def test_only_a_post_acts_on_the_members_routes(ctx: Context) -> None:
    client = TestClient(create_app(ctx), base_url="https://forum.example.org")
    confirm = confirm_path(client, ctx)
    ana = subscribers_id(ctx, "ana@example.org")
    unsubscribe = make_token(ctx.secret, ana, "unsubscribe")
    preferences = make_token(ctx.secret, ana, "preferences")
    forms: dict[str, dict[str, str]] = {
        f"/u/{unsubscribe}": {"List-Unsubscribe": "One-Click"},
        f"/u/{unsubscribe}?digest=weekly": {"stop": "all"},
        f"/p/{preferences}": {"themes-shown": "1", "language": "fr", "digests-shown": "1",
                              "digests": "monthly"},
        confirm: {},
        f"/p/{preferences}/erase": {"confirm": "erase"},
    }
    before = everything(ctx)
    for path, form in forms.items():
        for prefix in ("", "/digest"):
            for method in OTHERS:
                answer = client.request(method, prefix + path, data=form)
                assert answer.status_code in (200, 405), (method, path, answer.status_code)
                assert everything(ctx) == before, (method, prefix + path)
    # The same forms posted do act: the test above would catch a change.
    assert client.post(f"/u/{unsubscribe}", data=forms[f"/u/{unsubscribe}"]).status_code == 200
    assert member(ctx, "ana@example.org").status is SubscriberStatus.UNSUBSCRIBED


def test_head_on_an_unsubscribe_link_shows_the_button_page(ctx: Context) -> None:
    """The reviewer's case: HEAD ``/u/<token>`` answered 200 and unsubscribed."""
    client = TestClient(create_app(ctx), base_url="https://forum.example.org")
    token = make_token(ctx.secret, subscribers_id(ctx, "ana@example.org"), "unsubscribe")
    answer = client.head(f"/u/{token}?digest=weekly")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert member(ctx, "ana@example.org").status is SubscriberStatus.ACTIVE
    assert member(ctx, "ana@example.org").digests == ("weekly", "monthly")


def console_posts(routes: list[BaseRoute], prefix: str = "") -> list[str]:
    """The path of every console route that takes a POST, its parameters filled in."""
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += console_posts(list(route.routes), prefix + route.path)
        elif isinstance(route, Route) and "POST" in (route.methods or ()) \
                and "{path" not in route.path:
            path = prefix + route.path
            for name, value in PARAMS.items():
                path = re.sub(r"\{" + name + r"(:\w+)?\}", value, path)
            found.append(path)
    return found


def test_no_console_action_acts_on_another_method(ctx: Context) -> None:
    client, csrf = signed_in(ctx, APPROVER)
    paths = console_posts(admin_routes(ctx))
    assert "/admin/members/import/apply" in paths and "/admin/logout" in paths
    assert "/admin/editions/weekly/1/approve" in paths and len(paths) > 20
    before = everything(ctx)
    for path in paths:
        for method in OTHERS:
            answer = client.request(method, path, data={"csrf": csrf, "note": "x",
                                                        "upload": "x", "confirm": "yes"})
            assert answer.status_code < 500, (method, path, answer.status_code)
            assert everything(ctx) == before, (method, path)
    assert client.get("/admin/").status_code == 200  # still signed in: no logout happened


def test_a_console_action_refuses_any_method_but_post(ctx: Context,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``Console.action`` checks the method itself, whatever its route allows: a signed-in
    approver with the right CSRF token gets a 403 on any other method, the handler unrun."""
    console = Console(ctx)
    who = SignedIn(email=APPROVER, name="", role="approver", csrf="c" * 64)
    monkeypatch.setattr(console, "who", lambda request: who)
    ran: list[str] = []

    async def handler(request: Request, who: SignedIn, form: Form) -> Response:
        ran.append(request.method)
        return Response("acted")

    app = Starlette(routes=[Route("/act", console.action("approve", handler),
                                  methods=["GET", "POST", *OTHERS])])
    client = TestClient(app)
    for method in ["GET", *OTHERS]:
        assert client.request(method, "/act", data={"csrf": who.csrf}).status_code == 403
    assert ran == []
    assert client.post("/act", data={"csrf": who.csrf}).text == "acted"
    assert ran == ["POST"]


def subscribers_id(ctx: Context, address: str) -> int:
    found = member(ctx, address)
    assert found.id is not None
    return found.id


def member(ctx: Context, address: str) -> Subscriber:
    with ctx.db.transaction() as c:
        found = subscribers.by_email(c, address)
    assert found is not None
    return found
