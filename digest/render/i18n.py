"""The words the templates write themselves, in the reader's language, from gettext catalogs.

Catalogs live in ``digest/render/locales/<lang>/LC_MESSAGES/digest.po`` (edited by people)
and ``digest.mo`` (compiled with ``pybabel compile``, committed so an installed wheel needs no
build step; a test holds the two in step). English is the source language: a language with
no catalog, or a label missing from a catalog, falls back to the English words, so a new
label never breaks a send. ``docs/templates.md`` gives the extract/update/compile commands.

Only the renderers' own labels are here ("View in browser", section titles, "Page x of y");
dates and numbers are formatted by Babel's locale data (``templating``), and theme titles
come from ``schedules.yaml``, in the reader's language when it gives one
(``digest.theme_titles``).
"""

from __future__ import annotations

from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.support import Translations

from digest.models import Kind

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "digest"
SHIPPED = ("en", "fr", "de")


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a label for extraction without translating it yet (gettext's convention)."""
    return message


# The section titles as readers see them (models.SECTION_TITLES are the English keys).
SECTION_LABELS: dict[Kind, str] = {
    Kind.NEWS: N_("News"),
    Kind.EVENT: N_("Events"),
    Kind.CASE_STUDY: N_("Case studies"),
    Kind.PUBLICATION: N_("Publications"),
    Kind.BULLETIN: N_("Bulletins"),
    Kind.OTHER: N_("Other"),
}


@lru_cache(maxsize=1)
def catalog_languages() -> tuple[str, ...]:
    """The languages a reader can be offered: English (the source) and each language with a
    compiled catalog, so adding a language is adding one catalog."""
    found = sorted(path.name for path in LOCALES_DIR.iterdir()
                   if (path / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file())
    return ("en", *(code for code in found if code != "en"))


def primary_language(language: str | None) -> str:
    """``fr`` for ``fr``, ``fr-BE`` or ``fr_BE``; the catalogs are per primary language."""
    return (language or "en").replace("-", "_").split("_")[0].lower() or "en"


@lru_cache(maxsize=32)
def translations(language: str | None) -> NullTranslations:
    """The catalog of a language; English (no translation) when there is none."""
    code = primary_language(language)
    found = Translations.load(str(LOCALES_DIR), [code], DOMAIN)
    return found if isinstance(found, Translations) else NullTranslations()


def translate(language: str | None, message: str) -> str:
    """``message`` in ``language``, or as written when the catalog lacks it."""
    return translations(language).gettext(message)


def translate_plural(language: str | None, singular: str, plural: str, count: int) -> str:
    """The singular or plural form of a label for ``count``, in ``language``."""
    return translations(language).ngettext(singular, plural, count)


def section_label(kind: Kind, language: str | None) -> str:
    """A section's title ("News", "Actualités", "Neuigkeiten") for a kind of item."""
    return translate(language, SECTION_LABELS[kind])
