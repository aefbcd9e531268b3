"""A member's data rights: the export holds everything kept about them, erasing leaves
nothing personal in any table (only counts per edition), and an erased address is refused
by imports, ``subscribers add`` and test copies until its owner subscribes anew. On SQLite
and the real PostgreSQL; the web pages on a real server, in the member's language, with
axe-core at 375 px; the CLI as an operator runs it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from sqlalchemy import select

from digest.config import Environment, Settings
from digest.errors import InputError
from digest.jobs import member_data
from digest.jobs.context import Context
from digest.jobs.copies import send_test
from digest.jobs.overview import overview
from digest.jobs.status import store_status
from digest.mail.transports.files import eml_name
from digest.models import EditionStatus, Subscriber
from digest.render.templating import base_context, render_template
from digest.store import audit, deliveries, editions, erasure, subscribers, suppression
from digest.store import consents as consent_store
from digest.store.member_import import plan_import
from digest.store.member_tables import bounce_reports, consents
from digest.store.schema import metadata
from digest.store.subscribers import MemberRules
from digest.testing import ManualClock
from digest.tokens import make_token
from tests.conftest import reset_postgres, run_digest
from tests.test_web_subscribe import Site, link_in, make_context
from tests.web_app_server import serving

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
ANA, ANA_NAME = "ana.lopez@example.org", "Ana Lopez-Quintero"
BEN = "ben@example.org"
ERASED = "was erased at the member's request; they may subscribe again themselves"


def _settings(folder: Path) -> Settings:
    return Settings.model_validate({
        "site": {"title": "Social Affairs Forum", "base_url": "https://forum.example.org/digest",
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(folder)},
        "themes": {"culture": {"title": "Culture"}, "economy": {"title": "Economy"}},
        "digests": [{"id": "weekly", "title": "Weekly", "cron": "0 8 * * mon"}],
        "config_path": str(folder / "schedules.yaml"),
    })


@pytest.fixture(params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    """A site with two members, two editions and a bulletin delivered to them, a consent,
    bounce reports, and the file outbox holding their messages."""
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    context = Context(settings=_settings(tmp_path),
                      env=Environment(url, None, None, SECRET, None), clock=ManualClock(NOW))
    _fill(context)
    yield context
    context.close()


def _fill(ctx: Context) -> None:
    with ctx.db.transaction() as c:
        subscribers.add(c, Subscriber(email=ANA, name=ANA_NAME, language="fr",
                                      digests=("weekly",), themes=("culture",)), NOW)
        subscribers.add(c, Subscriber(email=BEN, name="Ben", language="en",
                                      digests=("weekly",)), NOW)
        ana, ben = _id(ctx, c, ANA), _id(ctx, c, BEN)
        made = {}
        for series, number in (("weekly", 1), ("weekly", 2), ("bulletin:spring", 1)):
            row = editions.create(c, digest_id=series, slot=NOW + timedelta(days=number),
                                  number=number, status=EditionStatus.SENDING,
                                  title=f"{series} {number}", period_start=None,
                                  period_end=NOW, item_keys=[], omitted=0, now=NOW)
            assert row is not None
            made[(series, number)] = row.id
            deliveries.plan(c, row.id, [(ana, "all"), (ben, "all")], NOW)
        rows = {(d.edition_id, d.subscriber.email): d.id
                for e in made.values() for d in deliveries.pending(c, e)}
        first, bulletin = made[("weekly", 1)], made[("bulletin:spring", 1)]
        for email in (ANA, BEN):
            deliveries.mark_sent(c, rows[(first, email)], NOW, f"<w1.{email}@forum>")
        deliveries.mark_failed(c, rows[(bulletin, ANA)], NOW, "<b1.ana@forum>",
                               "550 5.1.1 <ana.lopez@example.org>: mailbox unavailable")
        c.execute(consents.insert().values(
            subscriber_id=ana, page="/subscribe", wording="I agree to receive the digests.",
            language="fr", given_at=NOW - timedelta(days=30),
            confirmed_at=NOW - timedelta(days=29)))
        consent_store.record(c, ana, "/subscribe/embed", "Je veux recevoir les lettres.",
                             "fr", NOW - timedelta(days=1), consent_store.Choices(
                                 name=ANA_NAME, language="de", digests=("weekly",),
                                 themes=("economy",)))
        c.execute(bounce_reports.insert(), [
            {"report_key": "k1", "subscriber_id": ana, "delivery_id": rows[(bulletin, ANA)],
             "kind": "hard", "detail": "5.1.1 user unknown", "received_at": NOW},
            {"report_key": "k2", "subscriber_id": None, "delivery_id": None,
             "kind": "unmatched", "detail": "Final-Recipient: rfc822; Ana.Lopez@example.org",
             "received_at": NOW},
            {"report_key": "k3", "subscriber_id": ben, "delivery_id": None, "kind": "soft",
             "detail": "4.2.2 mailbox full", "received_at": NOW}])
    outbox = ctx.settings.out_dir / "outbox"
    outbox.mkdir(parents=True)
    for email in (ANA, BEN):
        (outbox / eml_name(f"<w1.{email}@forum>")).write_text(f"To: {email}\n\nhello")


def _id(ctx: Context, connection: Any, email: str) -> int:
    found = subscribers.by_email(connection, email)
    assert found is not None and found.id is not None
    return found.id


def member_id(ctx: Context, email: str) -> int:
    with ctx.db.transaction() as c:
        return _id(ctx, c, email)


def test_the_export_holds_the_record_consents_every_delivery_and_bounces(
        ctx: Context) -> None:
    data = member_data.export_member(ctx, member_id(ctx, ANA))
    assert data is not None
    assert data["member"] == {"email": ANA, "name": ANA_NAME, "language": "fr",
                              "digests": ["weekly"], "themes": ["culture"],
                              "status": "active", "created_at": NOW.isoformat()}
    assert data["consents"] == [{
        "page": "/subscribe", "wording": "I agree to receive the digests.", "language": "fr",
        "given_at": (NOW - timedelta(days=30)).isoformat(),
        "confirmed_at": (NOW - timedelta(days=29)).isoformat()}, {
        "page": "/subscribe/embed", "wording": "Je veux recevoir les lettres.",
        "language": "fr", "given_at": (NOW - timedelta(days=1)).isoformat(),
        "confirmed_at": None}]
    assert data["unconfirmed_requests"] == [{
        "asked_at": (NOW - timedelta(days=1)).isoformat(), "name": ANA_NAME,
        "language": "de", "digests": ["weekly"], "themes": ["economy"]}]
    sent = data["deliveries"]
    assert [(d["edition"], d["status"]) for d in sent] == [
        ("weekly/1", "sent"), ("weekly/2", "pending"), ("bulletin:spring/1", "failed")]
    assert (sent[0]["digest"], sent[0]["number"], sent[0]["message_id"]) == (
        "weekly", 1, f"<w1.{ANA}@forum>")
    assert sent[2]["bulletin"] == "spring" and "digest" not in sent[2]
    assert sent[2]["server_answer"].startswith("550 5.1.1") and sent[2]["attempts"] == 1
    assert sent[0]["updated_at"] == NOW.isoformat()
    assert data["bounce_reports"] == [{"kind": "hard", "detail": "5.1.1 user unknown",
                                       "received_at": NOW.isoformat()}]
    assert BEN not in member_data.as_json(data)  # nothing of another member
    assert json.loads(member_data.as_json(data)) == data
    assert member_data.export_member(ctx, 10**6) is None


def _texts_holding(ctx: Context, needles: list[str]) -> list[str]:
    """Every (table.column = value) in the whole store whose text holds one of ``needles``,
    case-insensitively: JSON and text columns alike."""
    found = []
    with ctx.db.transaction() as c:
        for table in metadata.sorted_tables:
            for row in c.execute(select(table)).mappings():
                for column, value in row.items():
                    shown = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
                    if any(n.lower() in shown.lower() for n in needles):
                        found.append(f"{table.name}.{column} = {shown[:80]}")
    return found


def test_erasing_leaves_nothing_personal_and_keeps_the_counts(ctx: Context) -> None:
    ana = member_id(ctx, ANA)
    with ctx.db.transaction() as c:
        ids = [e.id for e in editions.recent(c)]
        before = {e: deliveries.counts(c, e) for e in ids}
    assert _texts_holding(ctx, [ANA, ANA_NAME])  # the scan finds them while they are there
    done = member_data.erase_member(ctx, ana, "cli")
    assert done is not None and done.erased.deliveries == 3 and done.files_removed == 1
    assert _texts_holding(ctx, [ANA, ANA_NAME, "ana.lopez"]) == []
    if ctx.db.dialect == "sqlite":  # not in freed pages or the write-ahead log either
        path = Path(ctx.db.url.removeprefix("sqlite:///"))
        on_disk = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert b"ana.lopez" not in on_disk.lower() and ANA_NAME.encode() not in on_disk
    outbox = sorted(p.name for p in (ctx.settings.out_dir / "outbox").iterdir())
    assert outbox == [eml_name(f"<w1.{BEN}@forum>")]  # Ben's copy stays
    with ctx.db.transaction() as c:
        assert suppression.is_suppressed(c, ANA.upper())
        assert subscribers.by_id(c, ana) is None
        after = {e: erasure.with_erased(deliveries.counts(c, e), erasure.erased_counts(c, e))
                 for e in ids}
        ben_left = c.execute(select(bounce_reports.c.kind)).scalars().all()
    # Ana's pending message became a cancelled count; the others keep their state.
    for edition_id, counts in before.items():
        expected = dict(counts)
        if expected.get("pending") == 2:  # weekly/2: Ana's and Ben's
            expected.update(pending=1, cancelled=1)
        assert after[edition_id] == expected, edition_id
    assert ben_left == ["soft"]  # Ben's report stays; Ana's and the one naming her go
    shown = {e.row.label: e.counts for e in store_status(ctx).editions}
    assert shown["weekly/1"] == {"sent": 2}
    assert shown["bulletin:spring/1"] == {"failed": 1, "pending": 1}
    console = {s.row.label: (s.sent, s.pending, s.failed) for s in overview(ctx).sending}
    assert console == {"weekly/1": (2, 0, 0), "weekly/2": (0, 1, 0),
                       "bulletin:spring/1": (0, 1, 1)}
    assert member_data.erase_member(ctx, ana, "cli") is None  # twice is harmless
    with ctx.db.transaction() as c:
        logged = audit.latest(c, 10)
    assert [(e.actor, e.action, e.target, e.detail) for e in logged] == [
        ("cli", "member.erase", "members", "3 deliveries kept as counts")]


def test_an_erased_address_is_refused_until_its_owner_subscribes_anew(
        ctx: Context, tmp_path: Path) -> None:
    member_data.erase_member(ctx, member_id(ctx, ANA), "cli")
    csv = tmp_path / "members.csv"
    csv.write_text(f"email,name,language,digests,themes\n{ANA.upper()},Ana,fr,weekly,\n"
                   "carl@example.org,Carl,de,weekly,\n")
    settings = ctx.settings
    with ctx.db.transaction() as c:
        result = subscribers.import_csv(c, csv, NOW, "en", ["weekly"], settings.themes)
        plan = plan_import(c, csv, MemberRules.of("en", ["weekly"], settings.themes))
    assert (result.added, result.problems) == (1, [f"{csv}:2: {ANA} {ERASED}"])
    assert plan.refused == [f"{csv}:2: {ANA} {ERASED}"] and not plan.added  # carl is known
    with pytest.raises(InputError, match="erased at the member's request"):
        send_test(ctx, "weekly/1", ["bob@example.org", ANA], None, "cli")
    with ctx.db.transaction() as c:  # the owner confirmed a new subscription (joining)
        assert suppression.lift(c, ANA)
        again = subscribers.import_csv(c, csv, NOW, "en", ["weekly"], settings.themes)
    assert (again.added, again.known, again.problems) == (1, 1, [])


@pytest.fixture
def served(ctx: Context) -> Iterator[tuple[Context, str]]:
    with serving(ctx) as url:
        yield ctx, url


def test_the_data_download_is_a_private_json_attachment(
        served: tuple[Context, str]) -> None:
    ctx, base = served
    token = make_token(ctx.secret, member_id(ctx, ANA), "preferences")
    for prefix in ("", "/digest"):  # under the site's path too, as the links carry it
        answer = httpx.get(f"{base}{prefix}/p/{token}/data")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.headers["content-disposition"] == \
            'attachment; filename="my-data-2019-03-18.json"'
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"
        data = answer.json()
        assert data["member"]["email"] == ANA and len(data["deliveries"]) == 3
    unsubscribe = make_token(ctx.secret, member_id(ctx, ANA), "unsubscribe")
    for bad in (unsubscribe, "1.AAAA", "garbage"):  # another purpose, a forged one
        assert httpx.get(f"{base}/p/{bad}/data").status_code == 404


def test_erasing_from_the_web_asks_first_then_forgets_every_link(
        served: tuple[Context, str]) -> None:
    ctx, base = served
    ana = member_id(ctx, ANA)
    token = make_token(ctx.secret, ana, "preferences")
    page = httpx.get(f"{base}/p/{token}/erase")
    assert page.status_code == 200 and 'lang="fr"' in page.text  # the member's language
    assert "Effacer mes données" in page.text and ANA in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.text.count("<button") == 1 and 'action="erase"' in page.text
    # Its relative links lead to the download and back to the preferences page.
    assert httpx.get(urljoin(f"{base}/p/{token}/erase", "data")).status_code == 200
    assert httpx.get(urljoin(f"{base}/p/{token}/erase", f"../{token}")).status_code == 200
    unconfirmed = httpx.post(f"{base}/p/{token}/erase", data={"confirm": "no"})
    assert unconfirmed.status_code == 400 and "rien n’a été effacé" in unconfirmed.text
    assert httpx.post(f"{base}/p/1.AAAA/erase", data={"confirm": "erase"}).status_code == 404
    assert member_data.export_member(ctx, ana) is not None  # still there
    done = httpx.post(f"{base}/digest/p/{token}/erase", data={"confirm": "erase"})
    assert done.status_code == 200 and 'lang="fr"' in done.text
    assert "Vos données ont été effacées" in done.text and ANA not in done.text
    # Subscribing again opens in the page's language, not the site's.
    assert 'href="https://forum.example.org/digest/subscribe?lang=fr"' in done.text
    assert member_data.export_member(ctx, ana) is None
    with ctx.db.transaction() as c:
        assert [(e.actor, e.action) for e in audit.latest(c, 5)] == [("member", "member.erase")]
    links = [f"/p/{token}", f"/p/{token}/data", f"/p/{token}/erase",
             f"/u/{make_token(ctx.secret, ana, 'unsubscribe')}"]
    for path in links:
        assert httpx.get(base + path).status_code == 404, path
    assert httpx.post(f"{base}/p/{token}/erase", data={"confirm": "erase"}).status_code == 404


def test_a_member_without_a_catalog_language_reads_the_browser_s(
        served: tuple[Context, str]) -> None:
    ctx, base = served
    with ctx.db.transaction() as c:
        subscribers.add(c, Subscriber(email="eva@example.org", name="", language="es",
                                      digests=("weekly",)), NOW)
    token = make_token(ctx.secret, member_id(ctx, "eva@example.org"), "preferences")
    page = httpx.get(f"{base}/p/{token}/erase", headers={"Accept-Language": "de;q=0.9"})
    assert 'lang="de"' in page.text and "Meine Daten löschen" in page.text
    missing = httpx.get(f"{base}/p/1.AAAA/erase", headers={"Accept-Language": "fr"})
    assert missing.status_code == 404 and 'lang="fr"' in missing.text


def test_the_preferences_page_s_data_links_lead_to_the_data_pages(
        served: tuple[Context, str]) -> None:
    """``_data_links`` (included in the preferences page) links relative to /p/<token>."""
    ctx, base = served
    token = make_token(ctx.secret, member_id(ctx, BEN), "preferences")
    context = base_context(ctx.settings, "de")
    context["action"] = token
    html = render_template(ctx.settings, "web/members/_data_links.html.j2", context)
    assert "Meine Daten herunterladen (JSON)" in html and "Mich löschen" in html
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert len(hrefs) == 2
    for prefix in ("", "/digest"):
        preferences = f"{base}{prefix}/p/{token}"
        answers = [httpx.get(urljoin(preferences, href)) for href in hrefs]
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].json()["member"]["email"] == BEN


def test_the_data_pages_pass_axe_at_375_px(browser: Any, served: tuple[Context, str]) -> None:
    from tests.test_accessibility import _assert_none, axe_violations

    ctx, base = served
    token = make_token(ctx.secret, member_id(ctx, ANA), "preferences")
    _assert_none(axe_violations(browser, f"{base}/p/{token}/erase", 375), "erase")
    refused = httpx.post(f"{base}/p/{token}/erase", data={}).text
    _assert_none(axe_violations(browser, "refused", 375, html=refused), "erase refused")
    context = base_context(ctx.settings, "en")
    context.update(title="Your preferences", subject="x", preheader="", action=token,
                   links=None)
    links = render_template(ctx.settings, "web/members/_data_links.html.j2", context)
    framed = ('<!DOCTYPE html><html lang="en"><head><title>Preferences</title></head>'
              f'<body><main><h1>Preferences</h1>{links}</main></body></html>')
    _assert_none(axe_violations(browser, "links", 375, html=framed), "data links")
    erased = httpx.post(f"{base}/p/{token}/erase", data={"confirm": "erase"}).text
    _assert_none(axe_violations(browser, "erased", 375, html=erased), "erased")


# ----- the command line, as an operator runs it


@pytest.fixture
def cli_project(project: Path) -> Path:
    for email, name in ((ANA, ANA_NAME), (BEN, "Ben")):
        added = run_digest(project, "subscribers", "add", email, "--name", name,
                           "--language", "fr", env={"DIGEST_SECRET_KEY": SECRET})
        assert added.returncode == 0, added.stderr
    return project


def test_subscribers_export_prints_or_writes_the_json(cli_project: Path) -> None:
    shown = run_digest(cli_project, "subscribers", "export", ANA.upper())
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["member"]["email"], data["member"]["name"]) == (ANA, ANA_NAME)
    assert data["deliveries"] == [] and data["consents"] == []
    target = cli_project / "ana.json"
    written = run_digest(cli_project, "subscribers", "export", ANA, "--output", str(target))
    assert written.returncode == 0 and str(target) in written.stdout
    assert json.loads(target.read_text())["member"]["email"] == ANA
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # personal data
    unknown = run_digest(cli_project, "subscribers", "export", "nobody@example.org")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.strip() == "digest: no subscriber 'nobody@example.org'"


def test_subscribers_erase_needs_yes_off_a_terminal(cli_project: Path) -> None:
    refused = run_digest(cli_project, "subscribers", "erase", ANA)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert ANA in run_digest(cli_project, "subscribers", "list").stdout
    done = run_digest(cli_project, "subscribers", "erase", ANA, "--yes")
    assert done.returncode == 0, done.stderr
    assert f"{ANA}: erased" in done.stdout
    listed = run_digest(cli_project, "subscribers", "list").stdout
    assert ANA not in listed and BEN in listed
    again = run_digest(cli_project, "subscribers", "add", ANA)
    assert again.returncode == 2 and f"{ANA} {ERASED}" in again.stderr
    test_copy = run_digest(cli_project, "send", "weekly/1", "--test", ANA)
    assert test_copy.returncode == 2 and f"{ANA} {ERASED}" in test_copy.stderr
    assert run_digest(cli_project, "subscribers", "erase", ANA, "--yes").returncode == 2
    assert run_digest(cli_project, "subscribers", "export", ANA).returncode == 2


def test_subscribers_erase_asks_on_a_terminal(cli_project: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from digest.cli import main

    class Terminal:
        def isatty(self) -> bool:
            return True

    answers = iter(["no", "yes"])
    monkeypatch.chdir(cli_project)
    for name in [n for n in os.environ if n.startswith("DIGEST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert main(["subscribers", "erase", BEN]) == 0
    assert f"{BEN}: not erased" in capsys.readouterr().out
    assert main(["subscribers", "erase", BEN]) == 0
    assert f"{BEN}: erased" in capsys.readouterr().out
    listed = run_digest(cli_project, "subscribers", "list").stdout
    assert BEN not in listed and ANA in listed


def test_after_a_real_run_erase_keeps_the_status_counts_and_removes_the_copies(
        project: Path) -> None:
    """The sample's run sends the weekly edition; erasing François (by CLI) keeps
    `digest status`'s line for it, removes his .eml copies and his every trace."""
    francois = "francois.lefevre@example.net"
    made = run_digest(project, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert made.returncode in (0, 1), made.stderr

    def weekly_line() -> str:
        status = run_digest(project, "status").stdout
        return next(line for line in status.splitlines() if line.startswith("  weekly/1 "))

    before = weekly_line()
    assert "sent" in before
    outbox = project / "out" / "outbox"
    copies = [p for p in outbox.iterdir() if francois in p.read_text(errors="replace")]
    assert copies
    exported = json.loads(run_digest(project, "subscribers", "export", francois).stdout)
    assert [d["edition"] for d in exported["deliveries"]] == ["weekly/1"]
    assert exported["deliveries"][0]["status"] == "sent"
    done = run_digest(project, "subscribers", "erase", francois, "--yes")
    assert done.returncode == 0, done.stderr
    assert "1 deliveries kept as counts" in done.stdout
    assert weekly_line() == before
    assert not [p for p in copies if p.exists()]
    again = run_digest(project, "run", "--once", env={"DIGEST_SECRET_KEY": SECRET})
    assert "Lefèvre" not in again.stdout + again.stderr
    database = b"".join(p.read_bytes() for p in (project / "var").glob("digest.db*"))
    assert b"francois" not in database.lower() and "Lefèvre".encode() not in database


@pytest.fixture
def joining(tmp_path: Path) -> Iterator[Site]:
    """A served site with /subscribe, as the joining tests have it."""
    ctx = make_context(tmp_path)
    with serving(ctx) as url:
        yield Site(ctx, url)


def test_joined_erased_and_joined_anew_through_the_web(joining: Site) -> None:
    """Subscribe and confirm, erase from the data page, then subscribe anew: the old links
    stay dead, the new member is another one, and imports accept the address again."""
    site, address = joining, "back@example.org"
    site.post(email=address, name="Back Again")
    [first] = site.wait_mails(address, 1)
    assert httpx.post(site.url + link_in(first)).status_code == 200
    old = site.member(address)
    assert old is not None and old.id is not None and old.status.value == "active"
    token = make_token(site.ctx.secret, old.id, "preferences")
    erased = httpx.post(f"{site.url}/p/{token}/erase", data={"confirm": "erase"})
    assert erased.status_code == 200 and site.member(address) is None
    with site.ctx.db.transaction() as c:
        assert suppression.is_suppressed(c, address)
    site.clock.advance(timedelta(hours=2))
    site.post(email=address, name="Back Again")
    second = site.wait_mails(address, 2)[-1]
    assert httpx.post(site.url + link_in(second)).status_code == 200
    new = site.member(address)
    assert new is not None and new.id not in (None, old.id) and new.status.value == "active"
    assert httpx.get(f"{site.url}/p/{token}").status_code == 404
    with site.ctx.db.transaction() as c:
        assert not suppression.is_suppressed(c, address)
        subscribers.refuse_erased(c, address)  # no longer refused
