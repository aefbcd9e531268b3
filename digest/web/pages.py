"""The members' pages, from the templates in ``templates/web/members/``.

They are small on purpose: one button to unsubscribe (RFC 8058 asks that a GET never
unsubscribes, since mail scanners follow links), one form for preferences. They share the
web version's frame and stylesheet, Jinja's autoescape escapes every value that comes from
the store or the request, and their words are gettext messages in the member's language
(or the site's), from the same catalogs as the emails'. This module only gathers each
page's values; the HTML is in the templates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from digest.config import Settings
from digest.models import EditionLinks, SubscriberStatus
from digest.render.i18n import N_, translate
from digest.render.templating import base_context, render_template

EDITIONS = N_("Editions")
BULLETINS = N_("Bulletins")
FEEDS = N_("Feeds")
SAVED = N_("Saved.")
SAVED_AND_SUBSCRIBED = N_("Saved. You are subscribed again.")
BOUNCED_NOT_SUBSCRIBED = N_(
    "Your themes and language are saved, but you are not subscribed again: mail to this "
    "address bounced, so it cannot be subscribed again from this page. Write to the "
    "forum's team to have it checked.")
UNKNOWN_CHOICE = N_("Unknown digest, theme or language: nothing was changed.")
NO_DIGEST = N_("Tick at least one digest: nothing was changed. To receive nothing, use the "
               "unsubscribe link at the bottom of an email.")
DIGEST_STOPPED = N_("Digest stopped")
NOTHING_TO_STOP = N_("Nothing to stop")
_NO_LINKS = EditionLinks(web_url="", archive_url="", pdf_url="")


def member_page(settings: Settings, template: str, title: str, language: str,
                **values: Any) -> str:
    """One member's page: ``title`` (a message id, translated) and the template's values;
    every members' page (joining, data, leaving) is framed here."""
    context = base_context(settings, language)
    heading = translate(language, title) if title else settings.site.title
    context.update(title=heading, subject=f"{heading} · {settings.site.title}", preheader="",
                   links=_NO_LINKS, **values)
    return render_template(settings, f"web/members/{template}.html.j2", context)


def unsubscribe_form(settings: Settings, email: str, action: str, language: str, *,
                     followed: Sequence[str] = (), bulletins: str | None = None,
                     only: tuple[str, str] | None = None, only_stops_bulletins: bool = False,
                     active: bool = True, preferences: str = "") -> str:
    """The page behind the List-Unsubscribe link: what the member receives (``followed``
    digests' titles; ``bulletins``: the title of the digest bulletins come with, when they
    follow it), a button that stops ``only`` (id, title) when the link named one of
    several, and one that stops everything; each posts what a one-click client would. A
    member who receives nothing already is told so (``active`` false)."""
    return member_page(settings, "unsubscribe", N_("Unsubscribe"), language, email=email,
                 action=action, followed=followed, bulletins=bulletins, only=only,
                 only_stops_bulletins=only_stops_bulletins, active=active,
                 preferences=preferences)


def unsubscribed(settings: Settings, email: str, preferences: str, status: SubscriberStatus,
                 language: str, *, outcome: str = "everything", digest: str = "",
                 left: Sequence[str] = (), bulletins_stopped: bool = False,
                 bulletins_left: str | None = None) -> str:
    """After the click: ``outcome`` ``everything`` (nothing comes any more), ``digest``
    (the digest titled ``digest`` stopped, ``left`` still come; ``bulletins_stopped`` when
    bulletins came with it) or ``not-followed`` (it did not come: nothing changed). A
    bounced member is not offered to subscribe again."""
    title = {"digest": DIGEST_STOPPED, "not-followed": NOTHING_TO_STOP}.get(
        outcome, N_("You are unsubscribed"))
    return member_page(settings, "unsubscribed", title, language, email=email,
                 preferences=preferences, bounced=status is SubscriberStatus.BOUNCED,
                 outcome=outcome, digest=digest, left=left,
                 bulletins_stopped=bulletins_stopped, bulletins_left=bulletins_left)


def preferences_form(settings: Settings, email: str, action: str, themes: Mapping[str, str],
                     chosen: Iterable[str], languages: Mapping[str, str], language: str,
                     status: SubscriberStatus, message: str = "", error: str = "", *,
                     page_language: str | None = None, digests: Mapping[str, str] | None = None,
                     followed: Iterable[str] = (), bulletins: str | None = None) -> str:
    """Digests (``digests``: id to title, ``followed`` ticked; ``bulletins``: the title of
    the digest bulletins come with), themes (none ticked: every theme) and ``language``
    (the one selected among ``languages``), plus subscribing again, offered only to a
    member who unsubscribed: a bounced address is told why it cannot be. The page speaks
    ``page_language`` (default ``language``)."""
    return member_page(settings, "preferences", N_("Your preferences"), page_language or language,
                 email=email, action=action, themes=themes, chosen=set(chosen),
                 languages=languages, selected=language, status=str(status), message=message,
                 error=error, digests=digests or {}, followed=set(followed),
                 bulletins=bulletins)


def not_found(settings: Settings, language: str) -> str:
    return member_page(settings, "not_found", N_("Link not valid"), language)


def index(settings: Settings, links: Sequence[tuple[str, str]], language: str) -> str:
    """The site's front page: ``links`` are (message, URL) pairs."""
    return member_page(settings, "index", "", language, menu=links)


def editions(settings: Settings, digests: Sequence[tuple[str, str | None]],
             language: str) -> str:
    """Each digest, linked to its archive, or said to have no edition yet."""
    return member_page(settings, "editions", EDITIONS, language, digests=digests)
