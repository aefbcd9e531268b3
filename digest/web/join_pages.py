"""The joining pages, from ``templates/web/members/join*.html.j2`` and ``confirm.html.j2``.

They share the members' pages' frame; this module only gathers each page's values (their
words are gettext messages in the page's language, the HTML is in the templates).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digest.config import Settings
from digest.jobs.join_form import JoinForm, consent_wording
from digest.jobs.joining import ConfirmView
from digest.render.i18n import N_
from digest.render.templating import base_context, render_template
from digest.theme_titles import theme_titles
from digest.tokens import CONFIRM_LIFETIME
from digest.web.member_language import language_name, offered_languages
from digest.web.pages import member_page

SUBSCRIBE = N_("Subscribe")
CHECK_MAIL = N_("Check your email")
EMBED = N_("A subscribe form for your website")
CONFIRM = N_("Confirm your subscription")
CONFIRMED = N_("Subscription confirmed")
LINK_EXPIRED = N_("Link not valid")
CANNOT_SUBSCRIBE = N_("This address cannot be subscribed")
TOO_MANY = N_("Too many requests from this connection. Try again in a few minutes.")
_TITLES = {"ready": CONFIRM, "confirmed": CONFIRMED, "used": CONFIRMED,
           "subscribed": CONFIRMED,
           "bounced": CANNOT_SUBSCRIBE, "invalid": LINK_EXPIRED}


def _page(settings: Settings, template: str, title: str, language: str,
          **values: Any) -> str:
    return member_page(settings, template, title, language, days=CONFIRM_LIFETIME.days,
                       **values)


def join_form(settings: Settings, language: str, action: str, form: JoinForm | None = None,
              message: str = "") -> str:
    """The subscribe page, empty (every digest ticked, the page's language chosen) or as
    posted with its errors."""
    digests = {digest.id: digest.title for digest in settings.digests}
    if form is None:
        values = {"email": "", "name": "", "language": language}
        chosen_digests, chosen_themes, errors = set(digests), set(), {}
    else:
        values, errors = form.values, form.errors
        chosen_digests, chosen_themes = set(form.digests), set(form.themes)
    return _page(settings, "join", SUBSCRIBE, language, action=action, values=values,
                 errors=errors, message=message, languages=offered_languages(),
                 digests=digests, chosen_digests=chosen_digests,
                 themes=theme_titles(settings, language),
                 chosen_themes=chosen_themes, consent=consent_wording(settings, language))


def join_sent(settings: Settings, language: str, action: str) -> str:
    return _page(settings, "join_sent", CHECK_MAIL, language, action=action)


def embed(settings: Settings, language: str) -> str:
    """The page showing the snippet to paste, in ``language``, posting to ``base_url``."""
    context = {**base_context(settings, language), "consent": consent_wording(settings, language),
               "action": f"{settings.site.base_url}/subscribe"}
    snippet = render_template(settings, "web/members/_join_snippet.html.j2", context)
    return _page(settings, "join_embed", EMBED, language, snippet=snippet,
                 languages=offered_languages())


def confirm(settings: Settings, view: ConfirmView, language: str, action: str,
            subscribe: str) -> str:
    """A confirmation link's page in its state (``joining.ConfirmState``), with what
    confirming applies (the request's name, language, digests and themes: the owner sees
    them before pressing; the template escapes them). Themes in the page's language and
    the config's order; none chosen reads "all of them"."""
    titles: Mapping[str, str] = {digest.id: digest.title for digest in settings.digests}
    chosen = set(view.themes)
    themes = [title for slug, title in theme_titles(settings, language).items()
              if slug in chosen]
    themes += sorted(chosen - set(settings.themes))  # a theme removed since: its slug
    return _page(settings, "confirm", _TITLES[view.state.value], language,
                 state=view.state.value, email=view.email, action=action,
                 name=view.name, language_name=language_name(view.language or language),
                 digests=[titles.get(d, d) for d in view.digests], themes=themes,
                 preferences=view.preferences, subscribe=subscribe)
