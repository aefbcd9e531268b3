"""Every member's page in the member's language, and unsubscribing that says what stops
(issue 12, section 2), on a real server (uvicorn on 127.0.0.1) spoken to with httpx.

A page speaks the member's language when it has a catalog (``fr-BE``: French), else the
browser's ``Accept-Language``, else the site's; only catalog languages are offered, plus a
member's own uncatalogued one, kept. An email's one-click link names its digest and stops
that one; the button page offers "only this digest" and "everything"; stopping the last
digest unsubscribes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.config import Environment, Settings
from digest.jobs.context import Context
from digest.links import unsubscribe_url
from digest.models import Subscriber, SubscriberStatus
from digest.store import Database, member_digests, subscribers
from digest.store.member_digests import Stopped
from digest.testing import ManualClock
from digest.tokens import make_token
from tests.web_app_server import serving

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
SECRET = "s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"
MEMBERS = {"fr@example.org": "fr", "de@example.org": "de", "en@example.org": "en",
           "es@example.org": "es", "be@example.org": "fr-BE"}
# What each language's pages say (from the catalogs): a word of each page.
WORDS = {
    "en": {"unsubscribe": "Unsubscribe", "preferences": "Your preferences",
           "saved": "Saved.", "stopped": "Digest stopped", "everything": "Stop everything",
           "gone": "You are unsubscribed"},
    "fr": {"unsubscribe": "Se désabonner", "preferences": "Vos préférences",
           "saved": "Enregistré.", "stopped": "Digest arrêté", "everything": "Tout arrêter",
           "gone": "Vous êtes désabonné"},
    "de": {"unsubscribe": "Abmelden", "preferences": "Ihre Einstellungen",
           "saved": "Gespeichert.", "stopped": "Digest abbestellt",
           "everything": "Alles abbestellen", "gone": "Sie sind abgemeldet"},
}


def settings_for(tmp_path: Path) -> Settings:
    return Settings.model_validate({
        "site": {"title": "Social Affairs Forum", "base_url": "https://forum.example.org/digest",
                 "sender": {"name": "Forum", "address": "forum@example.org"},
                 "output": str(tmp_path)},
        "themes": {"culture": {"title": "Culture"}, "economy": {"title": "Economy"}},
        "digests": [{"id": "weekly", "title": "Weekly news", "cron": "0 8 * * mon"},
                    {"id": "monthly", "title": "Monthly review", "cron": "0 8 1 * *"}],
        "bulletins": {"path": str(tmp_path / "bulletins"), "audience": "weekly"},
        "config_path": str(tmp_path / "schedules.yaml"),
    })


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Context, str]]:
    ctx = Context(settings=settings_for(tmp_path),
                  env=Environment(None, None, None, SECRET, None), clock=ManualClock(NOW))
    with ctx.db.transaction() as c:
        for address, language in MEMBERS.items():
            subscribers.add(c, Subscriber(email=address, name="", language=language,
                                          digests=("weekly", "monthly")), NOW)
    with serving(ctx) as url:
        yield ctx, url


def member(ctx: Context, email: str) -> Subscriber:
    with ctx.db.transaction() as c:
        found = subscribers.by_email(c, email)
    assert found is not None
    return found


def link(ctx: Context, base: str, email: str, purpose: str, digest: str | None = None) -> str:
    found = member(ctx, email)
    assert found.id is not None
    token = make_token(ctx.secret, found.id, purpose)  # type: ignore[arg-type]
    return f"{base}/{purpose[0]}/{token}" + (f"?digest={digest}" if digest else "")


def one_click(url: str, headers: dict[str, str] | None = None,
              params: dict[str, str] | None = None) -> httpx.Response:
    """What a mail client posts to an email's List-Unsubscribe link (RFC 8058)."""
    return httpx.post(url, content=b"List-Unsubscribe=One-Click", params=params,
                      headers={"Content-Type": "application/x-www-form-urlencoded",
                               **(headers or {})})


def lang(page: httpx.Response) -> str:
    found = re.search(r'<html lang="([^"]+)"', page.text)
    assert found, page.text[:200]
    return found.group(1)


def options(page: httpx.Response) -> dict[str, bool]:
    """The language select's choices: code → selected."""
    return {code: bool(selected) for code, selected in
            re.findall(r'<option value="([^"]+)"( selected)?>', page.text)}


# ----------------------------------------------------------------- language


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_each_member_page_speaks_the_member_s_language(site: tuple[Context, str],
                                                       language: str) -> None:
    ctx, base = site
    email, words = f"{language}@example.org", WORDS[language]
    # The browser asks for another language: the member's own wins.
    other = {"Accept-Language": "de" if language != "de" else "fr"}
    form = httpx.get(link(ctx, base, email, "unsubscribe", "monthly"), headers=other)
    assert lang(form) == language and words["unsubscribe"] in form.text
    assert words["everything"] in form.text
    prefs = httpx.get(link(ctx, base, email, "preferences"), headers=other)
    assert lang(prefs) == language and words["preferences"] in prefs.text
    saved = httpx.post(link(ctx, base, email, "preferences"), headers=other,
                       data={"language": language, "themes": "culture"})
    assert lang(saved) == language and words["saved"] in saved.text
    stopped = one_click(link(ctx, base, email, "unsubscribe", "monthly"), headers=other)
    assert lang(stopped) == language and words["stopped"] in stopped.text
    gone = one_click(link(ctx, base, email, "unsubscribe"), headers=other)
    assert lang(gone) == language and words["gone"] in gone.text


@pytest.mark.parametrize(("accept", "expected"), [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"), ("de-AT", "de"), ("es, it;q=0.5, de;q=0.1", "de"),
    ("es", "en"), ("", "en"), ("fr;q=0, de;q=0.2", "de")])
def test_pages_with_no_member_speak_the_browser_s_language(
        site: tuple[Context, str], accept: str, expected: str) -> None:
    _, base = site
    headers = {"Accept-Language": accept} if accept else {}
    for path in ("/", "/editions/"):
        page = httpx.get(base + path, headers=headers)
        assert page.status_code == 200 and lang(page) == expected, path
        assert "accept-language" in page.headers["vary"].lower()  # cached per language
    editions = {"fr": "Éditions", "de": "Ausgaben", "en": "Editions"}[expected]
    assert editions in httpx.get(base + "/editions/", headers=headers).text
    missing = httpx.get(f"{base}/u/1.AAAA", headers=headers)
    assert missing.status_code == 404 and lang(missing) == expected
    wrong = httpx.post(f"{base}/p/nothing", headers=headers, data={"language": "en"})
    assert wrong.status_code == 404 and lang(wrong) == expected


def test_only_catalog_languages_are_offered(site: tuple[Context, str]) -> None:
    ctx, base = site
    page = httpx.get(link(ctx, base, "en@example.org", "preferences"))
    assert options(page) == {"en": True, "de": False, "fr": False}
    assert "Deutsch (de)" in page.text and "Français (fr)" in page.text
    refused = httpx.post(link(ctx, base, "en@example.org", "preferences"),
                         data={"language": "it"})
    assert refused.status_code == 400 and member(ctx, "en@example.org").language == "en"


def test_a_member_s_uncatalogued_language_is_kept_and_the_page_speaks_the_nearest(
        site: tuple[Context, str]) -> None:
    ctx, base = site
    # fr-BE: French pages, fr-BE selected, no other uncatalogued language offered.
    belgian = httpx.get(link(ctx, base, "be@example.org", "preferences"),
                        headers={"Accept-Language": "de"})
    assert lang(belgian) == "fr" and "Vos préférences" in belgian.text
    assert options(belgian) == {"en": False, "de": False, "fr": False, "fr-BE": True}
    # es: no catalog at all, so the browser's language (else the site's) speaks.
    spanish = link(ctx, base, "es@example.org", "preferences")
    assert lang(httpx.get(spanish, headers={"Accept-Language": "de"})) == "de"
    page = httpx.get(spanish)
    assert lang(page) == "en"
    assert options(page) == {"en": False, "de": False, "fr": False, "es": True}
    kept = httpx.post(spanish, data={"language": "es", "themes": "economy"})
    assert kept.status_code == 200
    assert (member(ctx, "es@example.org").language,
            member(ctx, "es@example.org").themes) == ("es", ("economy",))
    # Another member's uncatalogued language is not offered to this one (fr-BE, whose
    # primary language has a catalog, may be typed: test_a_tag_whose_primary_language...).
    assert httpx.post(spanish, data={"language": "it-IT"}).status_code == 400
    changed = httpx.post(spanish, data={"language": "fr"})
    assert changed.status_code == 200 and lang(changed) == "fr"
    assert "es" not in options(changed)  # once changed, not offered again


# ----------------------------------------------------------------- unsubscribing


def test_an_email_s_one_click_stops_only_its_digest(site: tuple[Context, str]) -> None:
    ctx, base = site
    answer = one_click(link(ctx, base, "en@example.org", "unsubscribe", "monthly"))
    assert answer.status_code == 200
    assert "will no longer receive <strong>Monthly review</strong>" in answer.text
    assert "Weekly news" in answer.text  # what still comes
    after = member(ctx, "en@example.org")
    assert (after.status, after.digests) == (SubscriberStatus.ACTIVE, ("weekly",))
    # The same link again (an old email): not followed any more, nothing else stops.
    again = one_click(link(ctx, base, "en@example.org", "unsubscribe", "monthly"))
    assert again.status_code == 200 and "nothing was changed" in again.text
    assert member(ctx, "en@example.org").status is SubscriberStatus.ACTIVE
    # The last digest: leaving; the list is kept, to subscribe again.
    last = httpx.post(link(ctx, base, "en@example.org", "unsubscribe", "weekly"),
                      files={"List-Unsubscribe": (None, "One-Click")})  # multipart
    assert last.status_code == 200 and "no more digests or bulletins" in last.text
    after = member(ctx, "en@example.org")
    assert (after.status, after.digests) == (SubscriberStatus.UNSUBSCRIBED, ("weekly",))
    httpx.post(link(ctx, base, "en@example.org", "preferences"),
               data={"language": "en", "subscribe": "1"})
    after = member(ctx, "en@example.org")
    assert (after.status, after.digests) == (SubscriberStatus.ACTIVE, ("weekly",))


def test_the_audience_digest_s_one_click_says_the_bulletins_stop_too(
        site: tuple[Context, str]) -> None:
    ctx, base = site
    answer = one_click(link(ctx, base, "en@example.org", "unsubscribe", "weekly"))
    assert "The bulletins stop too" in answer.text
    assert member(ctx, "en@example.org").digests == ("monthly",)
    other = one_click(link(ctx, base, "de@example.org", "unsubscribe", "monthly"),
                      headers={"Accept-Language": "en"})
    assert "Bulletins enden" not in other.text and "Bulletins" in other.text  # still come


@pytest.mark.parametrize("named", ["", "daily", "<script>", "x" * 500])
def test_a_link_naming_no_digest_of_the_config_stops_everything(
        site: tuple[Context, str], named: str) -> None:
    ctx, base = site
    url = link(ctx, base, "en@example.org", "unsubscribe")
    answer = one_click(url, params={"digest": named} if named else None)
    assert answer.status_code == 200 and "<script>" not in answer.text
    assert member(ctx, "en@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert member(ctx, "fr@example.org").status is SubscriberStatus.ACTIVE


def test_the_button_page_says_what_stops_and_offers_one_digest_or_everything(
        site: tuple[Context, str]) -> None:
    ctx, base = site
    url = link(ctx, base, "en@example.org", "unsubscribe", "monthly")
    page = httpx.get(url)
    assert page.text.count("<button") == 2
    assert '<button type="submit" name="stop" value="monthly">Stop only Monthly review' \
        in page.text
    assert 'name="stop" value="all">Stop everything' in page.text
    receives = page.text.split("This address receives:")[1].split("</ul>")[0]
    assert "Weekly news" in receives and "Monthly review" in receives
    assert "the bulletins, sent to the members who follow Weekly news" in receives
    assert "bulletins stop too" not in page.text  # monthly carries no bulletins
    assert member(ctx, "en@example.org").digests == ("weekly", "monthly")  # GET: nothing
    weekly = httpx.get(link(ctx, base, "en@example.org", "unsubscribe", "weekly"))
    assert "The bulletins stop too" in weekly.text
    # The button "everything" wins over the link's digest.
    httpx.post(url, data={"List-Unsubscribe": "One-Click", "stop": "all"})
    assert member(ctx, "en@example.org").status is SubscriberStatus.UNSUBSCRIBED
    # Pressed "only": that digest stops.
    httpx.post(link(ctx, base, "fr@example.org", "unsubscribe", "weekly"),
               data={"List-Unsubscribe": "One-Click", "stop": "monthly"})
    assert member(ctx, "fr@example.org").digests == ("weekly",)
    # One digest left, or a link naming none: one button, everything.
    single = httpx.get(link(ctx, base, "fr@example.org", "unsubscribe", "weekly"))
    assert single.text.count("<button") == 1 and 'value="all"' in single.text
    gone = httpx.get(url)  # the member who left: told, no button
    assert "<button" not in gone.text and "receives no digests or bulletins now" in gone.text


def test_an_email_s_link_names_its_digest() -> None:
    settings = settings_for(Path("/tmp/nowhere"))
    assert unsubscribe_url(settings, "7.sig", "weekly") == \
        "https://forum.example.org/digest/u/7.sig?digest=weekly"
    assert unsubscribe_url(settings, "7.sig", "a b&c") == \
        "https://forum.example.org/digest/u/7.sig?digest=a%20b%26c"
    assert unsubscribe_url(settings, "7.sig") == "https://forum.example.org/digest/u/7.sig"


# ----------------------------------------------------------------- preferences


def test_preferences_choose_the_digests(site: tuple[Context, str]) -> None:
    ctx, base = site
    url = link(ctx, base, "en@example.org", "preferences")
    page = httpx.get(url)
    assert 'name="digests" value="weekly" checked' in page.text
    assert 'name="digests" value="monthly" checked' in page.text
    assert "The bulletins are sent to the members who follow Weekly news" in page.text
    saved = httpx.post(url, data={"digests-shown": "1", "digests": "monthly",
                                  "language": "en"})
    assert saved.status_code == 200 and 'value="weekly" checked' not in saved.text
    assert member(ctx, "en@example.org").digests == ("monthly",)
    none = httpx.post(url, data={"digests-shown": "1", "language": "en"})
    assert none.status_code == 400 and "Tick at least one digest" in none.text
    unknown = httpx.post(url, data={"digests-shown": "1", "digests": ["monthly", "daily"],
                                    "language": "en"})
    assert unknown.status_code == 400 and "Unknown digest" in unknown.text
    assert member(ctx, "en@example.org").digests == ("monthly",)
    # A form without the digests' checkboxes leaves them as they are.
    assert httpx.post(url, data={"language": "de"}).status_code == 200
    assert member(ctx, "en@example.org").digests == ("monthly",)
    both = httpx.post(url, data={"digests-shown": "1", "digests": ["monthly", "weekly"],
                                 "language": "en"})
    assert both.status_code == 200
    assert member(ctx, "en@example.org").digests == ("weekly", "monthly")  # config order


def test_the_fullest_form_is_read_and_a_longer_one_refused(site: tuple[Context, str]) -> None:
    ctx, base = site
    url = link(ctx, base, "en@example.org", "preferences")
    full = {"digests-shown": "1", "digests": ["weekly", "monthly"], "themes-shown": "1",
            "themes": ["culture", "economy"], "language": "de", "subscribe": "1"}
    assert httpx.post(url, data=full).status_code == 200
    assert member(ctx, "en@example.org").language == "de"
    longer = {**full, "language": "fr", **{f"x{n}": "1" for n in range(5)}}
    refused = httpx.post(url, data=longer)
    assert refused.status_code == 400 and 'lang="de"' in refused.text
    assert member(ctx, "en@example.org").language == "de"


def test_a_post_without_the_page_s_fields_changes_nothing(site: tuple[Context, str]) -> None:
    """An empty or non-form body, or ``subscribe=1`` alone, is not the page's form: 400,
    themes, digests and language as they were. Each group counts only when the form
    showed it (``themes-shown``, ``digests-shown``, the language select)."""
    ctx, base = site
    url = link(ctx, base, "en@example.org", "preferences")
    page = httpx.get(url)
    assert 'name="themes-shown" value="1"' in page.text
    assert httpx.post(url, data={"themes-shown": "1", "themes": "culture", "language": "de",
                                 "digests-shown": "1", "digests": "weekly"}).status_code == 200
    chosen = ("de", ("culture",), ("weekly",))

    def now() -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        found = member(ctx, "en@example.org")
        return found.language, found.themes, found.digests

    assert now() == chosen
    bodies: list[dict[str, Any]] = [
        {"content": b""}, {"json": {"themes": []}}, {"data": {"subscribe": "1"}},
        {"data": {"themes": "economy"}}, {"data": {"unrelated": "x"}}]
    for body in bodies:
        refused = httpx.post(url, **body)
        assert refused.status_code == 400, body
        assert "nothing was changed" in refused.text or "rien n’a été modifié" in \
            refused.text or "nichts geändert" in refused.text, body
        assert now() == chosen, body
    # The digests alone: the themes and the language stay.
    assert httpx.post(url, data={"digests-shown": "1", "digests": "monthly"}).status_code == 200
    assert now() == ("de", ("culture",), ("monthly",))
    # The themes shown with none ticked: all of them (an empty choice), the rest stays.
    assert httpx.post(url, data={"themes-shown": "1"}).status_code == 200
    assert now() == ("de", (), ("monthly",))


def test_a_tag_whose_primary_language_is_offered_may_be_chosen(
        site: tuple[Context, str]) -> None:
    """``fr-BE`` (as an import stores it) is kept as given; the page speaks ``fr``."""
    ctx, base = site
    url = link(ctx, base, "en@example.org", "preferences")
    saved = httpx.post(url, data={"language": "fr-BE"})
    assert saved.status_code == 200 and lang(saved) == "fr"
    assert member(ctx, "en@example.org").language == "fr-BE"
    assert options(saved)["fr-BE"] is True
    for bad in ("it-IT", "fr-", "fr_BE!", "fr-" + "x" * 20, "es"):
        refused = httpx.post(url, data={"language": bad})
        assert refused.status_code == 400, bad
        assert member(ctx, "en@example.org").language == "fr-BE", bad


def _stop_both_at_once(database: Database, member_id: int) -> list[Stopped]:
    """Stop weekly and monthly for one member from two threads released together."""
    outcomes: list[Stopped] = []
    start = threading.Barrier(2)

    def stop(digest: str) -> None:
        start.wait()
        with database.transaction() as c:
            outcomes.append(member_digests.stop_digest(c, member_id, digest))

    threads = [threading.Thread(target=stop, args=(d,)) for d in ("weekly", "monthly")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_one_clicks_at_once_both_count(tmp_path: Path, backend: str,
                                           request: pytest.FixtureRequest) -> None:
    """One member stops both digests at the same moment (two emails, two clicks): they end
    unsubscribed, never left with a digest either click stopped."""
    if backend == "postgres":
        from tests.conftest import reset_postgres

        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'digest.db'}"
    database = Database(url)
    try:
        for round_ in range(5):
            with database.transaction() as c:
                subscribers.add(c, Subscriber(email=f"m{round_}@example.org", name="",
                                              language="en", digests=("weekly", "monthly")),
                                NOW)
                found = subscribers.by_email(c, f"m{round_}@example.org")
            assert found is not None and found.id is not None
            outcomes = _stop_both_at_once(database, found.id)
            assert sorted(outcomes) == [Stopped.DIGEST, Stopped.EVERYTHING]
            with database.transaction() as c:
                after = subscribers.by_id(c, found.id)
            assert after is not None and after.status is SubscriberStatus.UNSUBSCRIBED
    finally:
        database.close()


# ----------------------------------------------------------------- accessibility


def test_the_new_states_pass_axe_at_a_phone_s_width(browser: Any,
                                                   site: tuple[Context, str]) -> None:
    """axe-core (WCAG 2.1 AA) in Chromium at 375 px: the button page with two choices (in
    English and French), a digest stopped, nothing to stop, the preferences with digests
    and an uncatalogued language, a refused choice, the page of a member who left."""
    from tests.test_accessibility import axe_violations

    ctx, base = site
    pages = {
        "two buttons": httpx.get(link(ctx, base, "en@example.org", "unsubscribe", "weekly")),
        "two buttons fr": httpx.get(link(ctx, base, "fr@example.org", "unsubscribe",
                                         "weekly")),
        "digest stopped": one_click(link(ctx, base, "de@example.org", "unsubscribe",
                                         "weekly")),
        "nothing to stop": one_click(link(ctx, base, "de@example.org", "unsubscribe",
                                          "weekly")),
        "preferences es": httpx.get(link(ctx, base, "es@example.org", "preferences")),
        "no digest": httpx.post(link(ctx, base, "be@example.org", "preferences"),
                                data={"digests-shown": "1", "language": "fr-BE"}),
        "left": one_click(link(ctx, base, "en@example.org", "unsubscribe")),
    }
    pages["left page"] = httpx.get(link(ctx, base, "en@example.org", "unsubscribe"))
    assert pages["no digest"].status_code == 400
    for name, answer in pages.items():
        violations = axe_violations(browser, name, 375, html=answer.text)
        assert not violations, (name, [(v["id"], [n["html"][:120] for n in v["nodes"][:2]])
                                       for v in violations])
