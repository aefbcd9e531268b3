"""Joining on the web (double opt-in) on a real server spoken to with httpx: the form and
its errors, the same answer for every address, the honeypot, the limits, the mailed link
(read from the file transport's outbox), its expiry by the test clock, consent recorded,
what each known state gets, and the pages under axe-core in Chromium at 375 px."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.config import Environment, Settings
from digest.jobs.context import Context
from digest.models import Subscriber, SubscriberStatus
from digest.store import consents, subscribers, suppression
from digest.testing import ManualClock
from tests.mail_server import wait_for
from tests.web_app_server import serving

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
CHECK = "If this address can be subscribed, a confirmation link is on its way."


class Site:
    """A served site and what a test needs of it: its URL, store, clock and outbox."""

    def __init__(self, ctx: Context, url: str) -> None:
        self.ctx, self.url = ctx, url
        self.outbox = ctx.settings.out_dir / "outbox"

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.ctx.clock, ManualClock)
        return self.ctx.clock

    def post(self, **fields: Any) -> httpx.Response:
        data = {"lang": "en", "language": "en", "digests": "weekly", **fields}
        return httpx.post(f"{self.url}/subscribe", data=data)

    def mails(self, address: str) -> list[EmailMessage]:
        found = []
        for path in sorted(self.outbox.glob("*.eml")) if self.outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            if message["To"] and address in str(message["To"]):
                found.append(message)
        return found

    def wait_mails(self, address: str, count: int) -> list[EmailMessage]:
        assert wait_for(lambda: len(self.mails(address)) >= count), self.mails(address)
        return self.mails(address)

    def member(self, address: str) -> Subscriber | None:
        with self.ctx.db.transaction() as c:
            return subscribers.by_email(c, address)

    def consents(self, address: str) -> list[dict[str, object]]:
        found = self.member(address)
        assert found is not None and found.id is not None
        with self.ctx.db.transaction() as c:
            return consents.for_member(c, found.id)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage) -> str:
    found = re.search(r"https://forum\.example\.org/digest/(confirm|p)/(\S+)", text_of(message))
    assert found, text_of(message)
    return f"/{found.group(1)}/{found.group(2)}"


def make_context(tmp_path: Path, database: str | None = None) -> Context:
    settings = Settings.model_validate({
        "site": {"title": "Social Affairs Forum", "base_url": "https://forum.example.org/digest",
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(tmp_path)},
        "themes": {"culture": {"title": "Culture"},
                   "economy": {"title": {"en": "Economy", "fr": "Économie"}}},
        "digests": [{"id": "weekly", "title": "Weekly digest", "cron": "0 8 * * mon"},
                    {"id": "monthly", "title": "Monthly digest", "cron": "0 8 1 * *"}],
        "config_path": str(tmp_path / "schedules.yaml"),
    })
    return Context(settings=settings, env=Environment(database, None, None, SECRET, None),
                   clock=ManualClock(NOW))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    ctx = make_context(tmp_path)
    with serving(ctx) as url:
        yield Site(ctx, url)


def add_member(site: Site, address: str, status: SubscriberStatus,
               language: str = "en") -> None:
    with site.ctx.db.transaction() as c:
        subscribers.add(c, Subscriber(email=address, name="Known", language=language,
                                      digests=("weekly",), status=status), NOW)


def test_subscribe_confirm_flow_records_consent(site: Site) -> None:
    page = httpx.get(f"{site.url}/subscribe")
    assert page.status_code == 200 and 'lang="en"' in page.text
    assert 'value="weekly" checked' in page.text and 'value="monthly" checked' in page.text
    assert 'value="fr"' in page.text and 'value="es"' not in page.text  # catalogs only
    assert "you agree that Social Affairs Forum keeps your address" in page.text
    answer = site.post(email="Nina@Example.org", name="Nina Novak", language="de",
                       digests="monthly", themes=["culture"])
    assert answer.status_code == 200 and CHECK in answer.text
    [mail] = site.wait_mails("nina@example.org", 1)
    assert mail["Content-Language"] == "de"
    assert "Anmeldung" in str(mail["Subject"])  # in the chosen language
    assert "Nina" not in mail.as_string()  # a stranger's words are not carried to the address
    pending = site.member("nina@example.org")
    assert pending is not None and pending.status is SubscriberStatus.PENDING
    [given] = site.consents("nina@example.org")
    assert given["page"] == "/subscribe" and given["language"] == "en"
    assert str(given["wording"]).startswith("By pressing “Subscribe”, you agree that "
                                            "Social Affairs Forum keeps")
    assert given["given_at"] == NOW.isoformat() and given["confirmed_at"] is None

    link = link_in(mail)
    shown = httpx.get(site.url + link)  # a mail scanner's GET confirms nothing
    assert shown.status_code == 200 and shown.text.count("<button") == 1
    assert 'lang="de"' in shown.text and "Monthly digest" in shown.text
    assert site.member("nina@example.org").status is SubscriberStatus.PENDING  # type: ignore[union-attr]
    site.clock.advance(timedelta(hours=2))
    done = httpx.post(site.url + link)
    assert done.status_code == 200 and 'lang="de"' in done.text
    assert "/digest/p/" in done.text  # their preferences link
    member = site.member("nina@example.org")
    assert member is not None and member.status is SubscriberStatus.ACTIVE
    assert (member.name, member.language, member.digests, member.themes) == (
        "Nina Novak", "de", ("monthly",), ("culture",))
    [given] = site.consents("nina@example.org")
    assert given["confirmed_at"] == (NOW + timedelta(hours=2)).isoformat()
    again = httpx.post(site.url + link)  # twice is harmless
    assert again.status_code == 200 and "/digest/p/" in again.text
    assert site.consents("nina@example.org")[0]["confirmed_at"] == given["confirmed_at"]
    # Under the site's path too, as the mailed link carries it.
    assert httpx.get(f"{site.url}/digest{link}").status_code == 200


def test_same_answer_whatever_the_address_is(site: Site) -> None:
    add_member(site, "active@example.org", SubscriberStatus.ACTIVE)
    add_member(site, "bounced@example.org", SubscriberStatus.BOUNCED)
    add_member(site, "left@example.org", SubscriberStatus.UNSUBSCRIBED)
    answers = {address: site.post(email=address).text for address in (
        "new@example.org", "active@example.org", "bounced@example.org", "left@example.org")}
    assert len(set(answers.values())) == 1, "the page must not tell who is subscribed"
    # An active member is mailed their preferences link, nothing changes.
    [note] = site.wait_mails("active@example.org", 1)
    assert link_in(note).startswith("/p/")
    assert site.member("active@example.org").name == "Known"  # type: ignore[union-attr]
    # An unsubscribed member's choices wait for the link; then they are active again.
    [mail] = site.wait_mails("left@example.org", 1)
    assert site.member("left@example.org").status is SubscriberStatus.UNSUBSCRIBED  # type: ignore[union-attr]
    httpx.post(site.url + link_in(mail))
    assert site.member("left@example.org").status is SubscriberStatus.ACTIVE  # type: ignore[union-attr]
    # A bounced address is mailed nothing, and its state stays.
    site.wait_mails("new@example.org", 1)
    assert site.mails("bounced@example.org") == []
    assert site.member("bounced@example.org").status is SubscriberStatus.BOUNCED  # type: ignore[union-attr]


def test_a_stranger_cannot_change_a_known_members_choices(site: Site) -> None:
    add_member(site, "left@example.org", SubscriberStatus.UNSUBSCRIBED, language="fr")
    site.post(email="left@example.org", name="Mallory", language="de", digests="monthly")
    site.wait_mails("left@example.org", 1)
    member = site.member("left@example.org")
    assert member is not None and (member.name, member.language, member.digests) == (
        "Known", "fr", ("weekly",))


HOSTILE = '<script>alert("x")</script> Mallory & Co'


def choices_shown(html: str) -> str:
    """The list of what confirming applies, as the page shows it."""
    found = re.search(r'<dl class="choices">(.*?)</dl>', html, re.S)
    assert found, html
    return found.group(1)


def test_the_confirm_page_shows_exactly_what_confirming_applies(site: Site) -> None:
    """Anyone may type a name on the form: the owner sees it (escaped), with the language,
    digests and themes, before pressing; only then is it theirs."""
    site.post(email="owner@example.org", name=HOSTILE, language="fr",
              digests=["weekly", "monthly"], themes=["economy"])
    [mail] = site.wait_mails("owner@example.org", 1)
    assert "Mallory" not in mail.as_string()
    shown = httpx.get(site.url + link_in(mail), headers={"Accept-Language": "en"})
    assert shown.status_code == 200 and 'lang="fr"' in shown.text
    listed = choices_shown(shown.text)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Mallory &amp; Co" in listed
    assert "<script>" not in shown.text
    assert "Français (fr)" in listed and "Économie" in listed and "Culture" not in listed
    assert "Weekly digest" in listed and "Monthly digest" in listed
    assert "Nom" in listed and "Thèmes" in listed and "N’appuyez pas" in shown.text
    pending = site.member("owner@example.org")
    assert pending is not None and pending.status is SubscriberStatus.PENDING
    done = httpx.post(site.url + link_in(mail))
    assert done.status_code == 200 and "&lt;script&gt;" in choices_shown(done.text)
    member = site.member("owner@example.org")
    assert member is not None and member.status is SubscriberStatus.ACTIVE
    assert (member.name, member.language, member.digests, member.themes) == (
        HOSTILE, "fr", ("weekly", "monthly"), ("economy",))


def test_the_confirm_page_says_when_no_name_and_every_theme(site: Site) -> None:
    site.post(email="plain@example.org", name="", language="de")
    shown = httpx.get(site.url + link_in(site.wait_mails("plain@example.org", 1)[0]))
    listed = choices_shown(shown.text)
    assert "Kein Name" in listed and "Alle Themen" in listed and "Deutsch (de)" in listed


def test_each_link_applies_its_own_request_and_an_active_members_choices_stay(
        site: Site) -> None:
    """A pending address asked twice: each link's page shows its own request, the one
    followed applies; once active, an older link changes nothing (their choices are
    changed from their preferences only)."""
    site.post(email="twice@example.org", name="First", language="en", digests="weekly")
    site.post(email="twice@example.org", name="Second", language="de", digests="monthly",
              themes="culture")
    # The two mails may arrive in either order: each link is known by the page it opens.
    shown = {link: choices_shown(httpx.get(site.url + link).text)
             for link in (link_in(m) for m in site.wait_mails("twice@example.org", 2))}
    (first,) = [link for link, page in shown.items() if "First" in page]
    (second,) = [link for link in shown if link != first]
    older, newer = shown[first], shown[second]
    assert "First" in older and "Second" not in older and "Weekly digest" in older
    assert "Second" in newer and "First" not in newer and "Monthly digest" in newer
    assert "Culture" in newer
    httpx.post(site.url + second)
    applied = ("Second", "de", ("monthly",), ("culture",))
    member = site.member("twice@example.org")
    assert member is not None and member.status is SubscriberStatus.ACTIVE
    assert (member.name, member.language, member.digests, member.themes) == applied
    for answer in (httpx.get(site.url + first), httpx.post(site.url + first)):
        assert answer.status_code == 200 and "<button" not in answer.text
        assert "ist bereits angemeldet" in answer.text and "/digest/p/" in answer.text
    member = site.member("twice@example.org")
    assert member is not None
    assert (member.name, member.language, member.digests, member.themes) == applied
    # Each request's consent is its own: the followed one confirmed, the other not (the
    # two requests are stored in the background, in either order, so by either id).
    assert sorted(c["confirmed_at"] is None
                  for c in site.consents("twice@example.org")) == [False, True]


def test_a_bounced_member_following_a_link_is_told_why(site: Site) -> None:
    site.post(email="gone@example.org")
    [mail] = site.wait_mails("gone@example.org", 1)
    with site.ctx.db.transaction() as c:
        subscribers.set_status(c, "gone@example.org", SubscriberStatus.BOUNCED)
    for answer in (httpx.get(site.url + link_in(mail)), httpx.post(site.url + link_in(mail))):
        assert answer.status_code == 200
        assert "bounced" in answer.text and "forum@example.org" in answer.text
        assert "<button" not in answer.text
    assert site.member("gone@example.org").status is SubscriberStatus.BOUNCED  # type: ignore[union-attr]


def test_the_honeypot_gets_the_same_answer_and_nothing_else(site: Site) -> None:
    answer = site.post(email="bot@example.org", website="http://spam.example")
    assert answer.status_code == 200 and CHECK in answer.text
    sloppy = site.post(email="not an address", website="x", digests=[])  # no hint either
    assert sloppy.status_code == 200 and CHECK in sloppy.text
    site.post(email="human@example.org")
    site.wait_mails("human@example.org", 1)  # later than the bot's would have been
    assert site.mails("bot@example.org") == [] and site.member("bot@example.org") is None


def test_each_wrong_field_says_what_is_wrong_and_nothing_is_stored(site: Site) -> None:
    answer = site.post(email="not-an-address", name="two\nlines", language="xx",
                       digests=["daily"], themes=["nothing"])
    assert answer.status_code == 400
    for field in ("email", "name", "language", "digests", "themes"):
        assert f'id="{field}-error"' in answer.text, field
    assert 'aria-invalid="true"' in answer.text and 'value="not-an-address"' in answer.text
    empty = site.post(email="", digests=[])
    assert empty.status_code == 400
    assert "Enter your email address." in empty.text and "at least one digest" in empty.text
    french = site.post(email="x", lang="fr")
    assert french.status_code == 400 and 'lang="fr"' in french.text
    assert "Cette adresse" in french.text
    assert not site.outbox.is_dir() or not list(site.outbox.glob("*.eml"))
    assert site.member("x") is None and site.member("not-an-address") is None


def test_mails_per_address_and_posts_per_client_are_limited(site: Site) -> None:
    for _ in range(5):
        assert CHECK in site.post(email="eager@example.org").text
    assert wait_for(lambda: len(site.mails("eager@example.org")) >= 3)
    assert not wait_for(lambda: len(site.mails("eager@example.org")) > 3, timeout=1.0)
    assert len(site.consents("eager@example.org")) == 3
    for _ in range(5):  # the client's tenth post passes
        assert site.post(email="other@example.org").status_code == 200
    refused = site.post(email="other@example.org")  # its eleventh is refused
    assert refused.status_code == 429 and "Too many requests" in refused.text


def test_an_expired_or_broken_link_says_to_subscribe_again(site: Site) -> None:
    site.post(email="slow@example.org", language="fr")
    [mail] = site.wait_mails("slow@example.org", 1)
    link = link_in(mail)
    site.clock.advance(timedelta(days=7))
    expired = httpx.post(site.url + link, headers={"Accept-Language": "fr"})
    assert expired.status_code == 404 and 'lang="fr"' in expired.text
    assert "expiré" in expired.text and "/digest/subscribe?lang=fr" in expired.text
    assert site.member("slow@example.org").status is SubscriberStatus.PENDING  # type: ignore[union-attr]
    for bad in ("1.2.x", "garbage", link.rsplit("/", 1)[1][:-2] + "AA"):
        assert httpx.get(f"{site.url}/confirm/{bad}").status_code == 404


def test_the_embed_snippet_posts_here_and_is_recorded_as_such(site: Site) -> None:
    page = httpx.get(f"{site.url}/subscribe/embed?lang=de")
    assert page.status_code == 200 and 'lang="de"' in page.text
    assert ("action=&#34;https://forum.example.org/digest/subscribe&#34;" in page.text
            or "action=&quot;https://forum.example.org/digest/subscribe&quot;" in page.text)
    answer = httpx.post(f"{site.url}/subscribe", data={
        "source": "embed", "lang": "de", "email": "web@example.org", "name": ""},
        headers={"Origin": "https://city.example.net", "Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 200 and 'lang="de"' in answer.text
    [mail] = site.wait_mails("web@example.org", 1)
    [given] = site.consents("web@example.org")
    assert given["page"] == "/subscribe/embed" and given["language"] == "de"
    httpx.post(site.url + link_in(mail))
    member = site.member("web@example.org")
    assert member is not None and member.digests == ("weekly", "monthly")
    assert member.language == "de"


def test_an_erased_address_may_subscribe_anew(site: Site) -> None:
    with site.ctx.db.transaction() as c:
        suppression.suppress(c, "back@example.org", "erased", NOW)
    site.post(email="back@example.org")
    [mail] = site.wait_mails("back@example.org", 1)
    with site.ctx.db.transaction() as c:
        assert suppression.is_suppressed(c, "back@example.org")  # until they confirm
    httpx.post(site.url + link_in(mail))
    with site.ctx.db.transaction() as c:
        assert not suppression.is_suppressed(c, "back@example.org")


def test_pages_in_the_visitors_language(site: Site) -> None:
    french = httpx.get(f"{site.url}/subscribe", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert 'lang="fr"' in french.text and "Adresse e-mail" in french.text
    assert 'value="fr" selected' in french.text
    german = httpx.get(f"{site.url}/subscribe?lang=de", headers={"Accept-Language": "fr"})
    assert 'lang="de"' in german.text and 'name="lang" value="de"' in german.text
    sent = site.post(email="ana@example.org", lang="fr")
    assert 'lang="fr"' in sent.text and "lien de confirmation" in sent.text


def test_every_joining_page_passes_axe_at_375_px(browser: Any, site: Site) -> None:
    """The form (empty, with errors, in French), the answer, the embed page, and the
    confirmation pages in each state, as a phone shows them (WCAG 2.1 AA)."""
    from tests.test_accessibility import _assert_none, axe_violations

    add_member(site, "bounced@example.org", SubscriberStatus.BOUNCED)
    site.post(email="axe@example.org")
    link = site.url + link_in(site.wait_mails("axe@example.org", 1)[0])
    served = [f"{site.url}/subscribe", f"{site.url}/subscribe?lang=fr",
              f"{site.url}/subscribe/embed", link, f"{site.url}/confirm/1.2.x"]
    for url in served:
        _assert_none(axe_violations(browser, url, 375), url)
    answers = {
        "errors": site.post(email="nope", name="a\tb", digests=[], themes=["x"]).text,
        "sent": site.post(email="axe2@example.org").text,
        "confirmed": httpx.post(link).text,
        "used": httpx.post(link).text,
    }
    with site.ctx.db.transaction() as c:
        subscribers.set_status(c, "axe@example.org", SubscriberStatus.BOUNCED)
    answers["bounced"] = httpx.get(link).text
    for name, html in answers.items():
        _assert_none(axe_violations(browser, name, 375, html=html), name)


def test_the_flow_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(postgres_url)
    ctx = make_context(tmp_path, database=postgres_url)
    with serving(ctx) as url:
        site = Site(ctx, url)
        add_member(site, "left@example.org", SubscriberStatus.UNSUBSCRIBED)
        for address in ("pg@example.org", "left@example.org"):
            assert CHECK in site.post(email=address, language="fr", themes="economy").text
            httpx.post(site.url + link_in(site.wait_mails(address, 1)[0]))
            member = site.member(address)
            assert member is not None and member.status is SubscriberStatus.ACTIVE
            assert (member.language, member.themes) == ("fr", ("economy",))
            assert site.consents(address)[0]["confirmed_at"] == NOW.isoformat()


def test_a_person_joins_in_chromium_without_javascript(browser: Any, site: Site) -> None:
    """The real form in a real browser (its CSP and HTML checks), scripts off, under the
    site's path as the mailed links carry it."""
    context = browser.new_context(java_script_enabled=False, locale="fr-FR",
                                  viewport={"width": 375, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{site.url}/digest/subscribe")
        assert page.get_attribute("html", "lang") == "fr"
        page.fill("#email", "chromium@example.org")
        page.uncheck("input[name=digests][value=monthly]")
        page.check("input[name=themes][value=culture]")
        page.click("button[type=submit]")
        assert "lien de confirmation est en route" in page.content()
        link = link_in(site.wait_mails("chromium@example.org", 1)[0])
        page.goto(f"{site.url}/digest{link}")
        page.click("button[type=submit]")
        assert "abonnement est confirmé" in page.content()
    finally:
        context.close()
    member = site.member("chromium@example.org")
    assert member is not None and member.status is SubscriberStatus.ACTIVE
    assert (member.language, member.digests, member.themes) == ("fr", ("weekly",), ("culture",))
