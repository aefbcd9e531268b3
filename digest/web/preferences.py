"""A member's own page, ``/p/<token>``: digests, themes, language, and subscribing again.

Only languages with a catalog are offered (``member_language.offered_languages``), plus the
member's own when it has none (an imported ``es`` or ``fr-BE``): it stays theirs, shown
selected, and the page speaks the nearest catalog language (``fr`` for ``fr-BE``, else the
browser's). The digests' checkboxes count only when the form says it showed them (the
``digests-shown`` field): an older form, or a client that posts themes alone, leaves the
member's digests as they are; none ticked is refused (leaving is the unsubscribe link's
job, which says what stops). The themes likewise count only when the form showed them
(``themes-shown``, or the language select every version of the page has sent): a post
without any of the page's fields (an empty body, ``subscribe=1`` alone) changes nothing and
answers 400. A language is accepted when offered, or when it is a well-formed tag whose
primary language is (``fr-BE``: stored as given, the page speaks ``fr``). A bounced address
is told why it cannot be subscribed again from here.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from digest.jobs.context import Context
from digest.languages import is_language_tag
from digest.models import Subscriber, SubscriberStatus
from digest.render.i18n import N_
from digest.store import member_digests, subscribers
from digest.theme_titles import theme_titles
from digest.tokens import read_token
from digest.web import pages
from digest.web.errors import unreadable_form
from digest.web.member_access import (
    html,
    in_thread,
    member_of,
    missing,
    same_page,
)
from digest.web.member_language import (
    language_name,
    offered_languages,
    page_language,
    speakable,
)

FIELDS_BESIDES = 6  # the language, "subscribe", the two "-shown", and room to spare
SHOWN, THEMES_SHOWN = "digests-shown", "themes-shown"
NOT_THE_FORM = N_("This was not this page's form: nothing was changed. Make your choice "
                  "below and press Save.")


def languages_for(current: str) -> dict[str, str]:
    """The languages a member may pick: those with a catalog, and their own."""
    languages = offered_languages()
    if current and current not in languages:
        languages[current] = language_name(current)
    return languages


def may_choose(language: str, current: str) -> bool:
    """Whether ``language`` may be saved: offered, or a well-formed tag whose primary
    language has a catalog (``fr-BE``, as an import may have stored it)."""
    return language in languages_for(current) or (is_language_tag(language)
                                                   and speakable(language) is not None)


class Preferences:
    """The ``/p/<token>`` endpoint of ``ctx``'s site."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def max_fields(self) -> int:
        """As many fields as the fullest form has (every theme and digest ticked), so a
        body with more is refused before it is stored field by field."""
        settings = self.ctx.settings
        return len(settings.themes) + len(settings.digests) + FIELDS_BESIDES

    async def handle(self, request: Request) -> Response:
        form: dict[str, list[str]] = {}
        if request.method == "POST":
            # The token first: a stranger's body is never parsed.
            if read_token(self.ctx.secret, request.path_params["token"], "preferences") is None:
                return await in_thread(lambda r: missing(self.ctx, r), request)
            try:
                async with request.form(max_files=0, max_fields=self.max_fields()) as data:
                    for key, value in data.multi_items():
                        if isinstance(value, str):
                            form.setdefault(key, []).append(value)
            except HTTPException as exc:  # more fields than any preferences form has, a file...
                unreadable_form(request, exc)
                return await in_thread(lambda r: self._answer(r, form, bad=True), request)
        return await in_thread(lambda r: self._answer(r, form), request)

    def _page(self, request: Request, member: Subscriber, *, chosen: tuple[str, ...],
              digests: tuple[str, ...], language: str, status: SubscriberStatus,
              message: str = "", error: str = "", code: int = 200) -> Response:
        settings = self.ctx.settings
        bulletins = settings.bulletins
        titles = {digest.id: digest.title for digest in settings.digests}
        shown_in = page_language(request, language, settings.site.language)
        return html(pages.preferences_form(
            settings, member.email, same_page(request), theme_titles(settings, shown_in),
            chosen, languages_for(member.language), language, status, message=message,
            error=error, page_language=shown_in,
            digests=titles, followed=digests,
            bulletins=titles.get(bulletins.audience) if bulletins else None), code)

    def _as_stored(self, request: Request, member: Subscriber, error: str = "",
                   code: int = 200) -> Response:
        """The page with the member's stored choice (a GET, a refused POST)."""
        return self._page(request, member, chosen=member.themes, digests=member.digests,
                          language=member.language, status=member.status, error=error,
                          code=code)

    def _answer(self, request: Request, form: dict[str, list[str]],
                bad: bool = False) -> Response:
        """The page; a POST saves the choice (``bad``: a form that could not be read,
        answered as an unknown choice, nothing changed)."""
        member = member_of(self.ctx, request, "preferences")
        if member is None or member.id is None:
            return missing(self.ctx, request)
        settings = self.ctx.settings
        known = [digest.id for digest in settings.digests]
        if request.method != "POST":
            return self._as_stored(request, member)
        themes_shown = bool(form.get(THEMES_SHOWN) or form.get("language"))
        if not (bad or themes_shown or form.get(SHOWN)):  # not the page's form
            return self._as_stored(request, member, error=NOT_THE_FORM, code=400)
        themes = tuple(form.get("themes", [])) if themes_shown else member.themes
        digests = tuple(form.get("digests", [])) if form.get(SHOWN) else member.digests
        language = (form.get("language") or [member.language])[-1]
        error = ""
        if (bad or [t for t in themes if t not in settings.themes]
                or not may_choose(language, member.language)
                or (form.get(SHOWN) and [d for d in digests if d not in known])):
            error = pages.UNKNOWN_CHOICE
        elif form.get(SHOWN) and not digests:
            error = pages.NO_DIGEST
        if error:
            return self._as_stored(request, member, error=error, code=400)
        status, message = member.status, pages.SAVED
        with self.ctx.db.transaction() as connection:
            subscribers.set_preferences(connection, member.id, themes, language)
            if form.get(SHOWN):
                member_digests.set_digests(connection, member.id, digests, known)
            if form.get("subscribe") and status is SubscriberStatus.BOUNCED:
                message = pages.BOUNCED_NOT_SUBSCRIBED  # the truth, not "Saved."
            elif form.get("subscribe") and subscribers.reactivate(connection, member.id):
                status, message = SubscriberStatus.ACTIVE, pages.SAVED_AND_SUBSCRIBED
            saved = subscribers.by_id(connection, member.id) or member
        return self._page(request, saved, chosen=saved.themes, digests=saved.digests,
                          language=saved.language, status=status, message=message)
