"""A theme's title in a reader's language: the one place that picks it.

``schedules.yaml`` gives a theme one title, or one per language (``title: {en: Economy,
fr: Économie, de: Wirtschaft}``). Every form that names a theme (the chips of an email, a
web version or a PDF, a footer's list of the member's themes, the feeds, the members'
preferences page) asks here, with the language of what it writes, so a French member
reads "Économie" where an English one reads "Economy". A language with no title of its
own reads the nearest one (``fr`` for ``fr-BE``), else the site's title.
"""

from __future__ import annotations

from collections.abc import Iterable

from digest.config import Settings, ThemeSettings
from digest.languages import nearest


def title_in(theme: ThemeSettings, language: str | None) -> str:
    """``theme``'s title for a reader of ``language`` (None: the site's)."""
    found = nearest(language, theme.titles) if theme.titles else None
    return theme.titles[found] if found is not None else theme.title


def theme_title(settings: Settings, slug: str, language: str | None = None) -> str:
    """The title of the theme ``slug`` in ``language`` (None: the site's); a slug the config
    does not know (an item filed under a theme removed since) is shown as it is."""
    theme = settings.themes.get(slug)
    return slug if theme is None else title_in(theme, language)


def theme_titles(settings: Settings, language: str | None = None) -> dict[str, str]:
    """Every configured theme's title in ``language``, by slug, in the config's order: what
    a page listing the themes (the members' preferences, a feed catalogue) shows."""
    return {slug: title_in(theme, language) for slug, theme in settings.themes.items()}


def titles_of(settings: Settings, slugs: Iterable[str], language: str | None = None) -> list[str]:
    """The titles of ``slugs`` in ``language``, in their order (an item's chips)."""
    return [theme_title(settings, slug, language) for slug in slugs]
