"""The subscribe form read and checked: each wrong field gets its own message.

The values come from anyone on the internet (the site's own page or a form another site
embeds), so each is bounded and checked before anything is stored: an address the product
can deliver to, a name of one short line, a language with a catalog, digests and themes of
the config. The consent sentence is made here, in the page's language, from the site's
title: what is stored as the wording shown is what the page showed, never posted text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from digest.config import Settings
from digest.errors import InputError
from digest.render.i18n import N_, catalog_languages, translate
from digest.store.consents import Choices
from digest.store.subscribers import normalise_email

MAX_EMAIL_CHARS = 320
MAX_NAME_CHARS = 200
PAGE = "/subscribe"
EMBED_PAGE = "/subscribe/embed"
CONSENT = N_("By pressing “Subscribe”, you agree that %(site)s keeps your address, your "
             "name and your choices to send you what you chose, until you unsubscribe (every "
             "email has a link) or ask for your data to be erased. Nothing is sent before "
             "you confirm with the link we mail you.")
NO_EMAIL = N_("Enter your email address.")
BAD_EMAIL = N_("This email address cannot be used: check it for typos "
               "(it looks like name@example.org).")
BAD_NAME = N_("Enter your name on one line, in at most 200 characters (or leave it empty).")
BAD_LANGUAGE = N_("Choose one of the languages offered.")
NO_DIGEST = N_("Choose at least one digest.")
BAD_DIGEST = N_("Choose among the digests offered.")
BAD_THEME = N_("Choose among the themes offered.")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class JoinRequest:
    """A checked request: the address, what it asks for, and the consent it gave."""

    email: str
    choices: Choices
    page: str  # PAGE or EMBED_PAGE
    wording: str  # the consent sentence as shown
    page_language: str


@dataclass(frozen=True)
class JoinForm:
    """The form as posted (for showing it again) and its errors by field (message ids)."""

    values: dict[str, str]
    digests: tuple[str, ...]
    themes: tuple[str, ...]
    errors: dict[str, str]
    request: JoinRequest | None


def consent_wording(settings: Settings, language: str) -> str:
    """The consent sentence a page in ``language`` shows."""
    return translate(language, CONSENT) % {"site": settings.site.title}


def _last(form: Mapping[str, Sequence[str]], key: str) -> str:
    values = form.get(key) or [""]
    return values[-1]


def read_join_form(settings: Settings, form: Mapping[str, Sequence[str]],
                   page_language: str) -> JoinForm:
    """Check a posted subscribe form. A form from the embedded snippet (``source=embed``)
    names no digests (every digest then) and may name no language (the page's)."""
    embed = _last(form, "source") == "embed"
    typed_email = _last(form, "email").strip()
    name = _last(form, "name").strip()
    language = _last(form, "language").strip() or (page_language if embed else "")
    digests = tuple(dict.fromkeys(v for v in form.get("digests", []) if v))[:50]
    themes = tuple(dict.fromkeys(v for v in form.get("themes", []) if v))[:200]
    errors: dict[str, str] = {}
    email = ""
    if not typed_email:
        errors["email"] = NO_EMAIL
    elif len(typed_email) > MAX_EMAIL_CHARS:
        errors["email"] = BAD_EMAIL
    else:
        try:
            email = normalise_email(typed_email)
        except InputError:
            errors["email"] = BAD_EMAIL
    if len(name) > MAX_NAME_CHARS or _CONTROL.search(name):
        errors["name"] = BAD_NAME
    if language not in catalog_languages():
        errors["language"] = BAD_LANGUAGE
    known_digests = [digest.id for digest in settings.digests]
    if embed and not digests:
        digests = tuple(known_digests)
    if not digests:
        errors["digests"] = NO_DIGEST
    elif any(d not in known_digests for d in digests):
        errors["digests"] = BAD_DIGEST
    if any(t not in settings.themes for t in themes):
        errors["themes"] = BAD_THEME
    values = {"email": typed_email[:MAX_EMAIL_CHARS], "name": name[:MAX_NAME_CHARS],
              "language": language}
    request = None
    if not errors:
        request = JoinRequest(
            email=email, choices=Choices(name=name, language=language, digests=digests,
                                         themes=themes),
            page=EMBED_PAGE if embed else PAGE,
            wording=consent_wording(settings, page_language), page_language=page_language)
    return JoinForm(values=values, digests=digests, themes=themes, errors=errors,
                    request=request)
