"""Categories and words → kinds and the configured themes.

Sources spell their categories any way ("Case study", "case_study", "Knowledge Society"):
these rules compare them as the coordinators meant them, in one place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from digest.models import Kind, Theme
from digest.sources.clean.markup import plain_text

_WHITESPACE = re.compile(r"\s+")

_KIND_WORDS: dict[str, Kind] = {
    "news": Kind.NEWS,
    "event": Kind.EVENT,
    "events": Kind.EVENT,
    "case study": Kind.CASE_STUDY,
    "case studies": Kind.CASE_STUDY,
    "publication": Kind.PUBLICATION,
    "publications": Kind.PUBLICATION,
    "bulletin": Kind.BULLETIN,
    "bulletins": Kind.BULLETIN,
}



def normalise_label(text: str) -> str:
    """A category as a comparison key: case, accents, spacing, hyphens and punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


def _kind_key(text: str) -> str:
    words = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text.casefold()))
    return _WHITESPACE.sub(" ", words).strip()


def kind_of(category: str) -> Kind | None:
    """The kind a category names ("news", "Case study", "case_study"...), else None."""
    return _KIND_WORDS.get(_kind_key(category))


def kind_from(categories: Iterable[str], default: Kind | None) -> Kind:
    """The first kind named among the categories, else the source's kind, else news."""
    for category in categories:
        kind = kind_of(category)
        if kind is not None:
            return kind
    return default or Kind.NEWS


class ThemeMapper:
    """Maps a source's category strings, and an item's words, to the configured themes.

    A theme is recognised by its slug, its title or any alias, whatever the case, spacing,
    hyphens, underscores or punctuation, so "Knowledge Society", "knowledge-society" and
    "knowledge_society" all file an item under ``knowledge-society``. Categories that name
    no theme (including kinds such as "news") are ignored. A theme's ``keywords`` also file
    an item under it when its title or text has one as a whole word or phrase, in any case.
    An item that nothing places gets its source's themes, else the site's ``default``.
    """

    def __init__(self, themes: Iterable[Theme], default: Iterable[str] = ()) -> None:
        self._slugs: dict[str, str] = {}
        self._keywords: list[tuple[re.Pattern[str], str]] = []
        self._default = tuple(dict.fromkeys(default))
        for theme in themes:
            for label in (theme.slug, theme.title, *theme.aliases):
                key = normalise_label(label)
                if key:
                    self._slugs.setdefault(key, theme.slug)
            for keyword in theme.keywords:
                self._keywords.append((_keyword_pattern(keyword), theme.slug))

    def slug_for(self, category: str) -> str | None:
        """The theme a category names, or None."""
        return self._slugs.get(normalise_label(category))

    def themes_for(
        self, categories: Iterable[str], fallback: Iterable[str] = (), text: str = ""
    ) -> tuple[str, ...]:
        """The distinct themes the categories name, then those whose keywords ``text``
        has, in order; when none: ``fallback`` (the source's themes), else the default."""
        found: dict[str, None] = {}
        for category in categories:
            slug = self.slug_for(category)
            if slug is not None:
                found[slug] = None
        if text:
            for pattern, slug in self._keywords:
                if slug not in found and pattern.search(text):
                    found[slug] = None
        if found:
            return tuple(found)
        return tuple(dict.fromkeys(fallback)) or self._default


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """A keyword as a whole word or phrase, any case, any run of spaces between words."""
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def keyword_text(title: str, summary_html: str) -> str:
    """What keyword rules read: the title and the summary's text."""
    return f"{title}\n{plain_text(summary_html)}"
