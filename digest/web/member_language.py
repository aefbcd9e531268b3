"""Which language a member's page speaks: the member's own, else the visitor's browser's.

Only languages with a catalog (``render.i18n.catalog_languages``) are spoken or offered;
the ``Accept-Language`` header (RFC 9110 §12.5.4) is read bounded, and anything not
understood falls back to the site's language.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from starlette.requests import Request

from digest.render.i18n import catalog_languages, primary_language

MAX_HEADER_CHARS = 1024  # a browser sends a few dozen; more is read no further
MAX_RANGES = 20


def offered_languages() -> dict[str, str]:
    """Each language a member may choose, by code, with its own name ("Français (fr)")."""
    return {code: language_name(code) for code in catalog_languages()}


def speakable(language: str | None) -> str | None:
    """``language``'s catalog language ("fr" for "fr-BE"), or None when there is none."""
    if not language:
        return None
    code = primary_language(language)
    return code if code in catalog_languages() else None


def accepted_languages(header: str) -> list[str]:
    """The ranges of an ``Accept-Language`` value, most wanted first (``q=0`` dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_HEADER_CHARS].split(",")[:MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
            if not 0 < weight <= 1:
                continue
        if tag and tag != "*":
            ranked.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def page_language(request: Request, member_language: str | None, site_language: str) -> str:
    """The language of a page: the member's (when known and spoken), else the first spoken
    language the browser asks for, else the site's (English when it has no catalog)."""
    chosen = speakable(member_language)
    if chosen:
        return chosen
    for tag in accepted_languages(request.headers.get("accept-language", "")):
        chosen = speakable(tag)
        if chosen:
            return chosen
    return speakable(site_language) or "en"


def language_name(code: str) -> str:
    """A language's own name ("Deutsch (de)"), or the code when Babel does not know it."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return code
    return f"{name[:1].upper()}{name[1:]} ({code})" if name else code
