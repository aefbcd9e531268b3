"""The front matter of a bulletin: which keys it holds and what each may be.

A coordinator writes it by hand, so it is validated like ``schedules.yaml``: by a pydantic
model, with every problem located by ``digest.config.locator`` and shown the same way
(``FILE:LINE: key: what is wrong``). Themes are named by slug, title or alias (any case),
which needs the site's themes: they are given as the validation context (``themes_of``).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from digest.config.schema import Settings
from digest.config.units import shown
from digest.dates import YEARS, parse_iso, within_years
from digest.identifiers import SLUG
from digest.languages import language_tag
from digest.safetext import has_visible

MISSING = "required key is missing or empty"


def _text(value: Any) -> str | None:
    """A scalar as text; None for what no one meant as text (a list, ``true``, ``.inf``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    return None


def _one_line(value: Any) -> str:
    text = _text(value)
    if text is None or "\n" in text:
        raise ValueError("expected one line of text")
    if not has_visible(text):  # zero-width spaces, word joiners: a blank heading
        raise ValueError(f"expected visible text, got only invisible characters {shown(text)}")
    return text


def _required(value: Any) -> Any:
    if value in (None, ""):
        raise PydanticCustomError("missing", MISSING)
    return value


def _optional(value: Any) -> Any:
    return None if value in (None, "") else value


def _calendar_date(value: Any) -> date:
    """The date, or why the value is none (``2019-02-30``: the day is out of range)."""
    reason = "not a date"
    if isinstance(value, datetime):
        reason = "a date without a time was expected"
    elif isinstance(value, date):
        return _within_years(value)
    elif isinstance(value, str):
        try:
            found = parse_iso(value, with_time=False)
        except ValueError as exc:
            reason = str(exc)
        else:
            return _within_years(found)
    raise ValueError(f"expected a date such as 2019-03-25, got {value!r} ({reason})")


def _within_years(value: date) -> date:
    if not within_years(value):
        raise ValueError(f"expected a date in the years {YEARS}, got {value.isoformat()}")
    return value


def _moment(value: Any) -> datetime | None:
    """A date and time with its offset: a time without one would be read in which zone?"""
    if value is None:
        return None
    moment = value
    if isinstance(value, str):
        try:
            moment = parse_iso(value, with_time=True)
        except ValueError:
            moment = None
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("expected a date and time with its offset, such as "
                         f"2019-03-20T09:00:00+01:00, got {value!r}")
    if not within_years(moment):
        raise ValueError(f"expected a time in the years {YEARS}, got {value!r}")
    return moment


def _theme_names(value: Any) -> Any:
    if value in (None, ""):
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("expected a list of theme slugs")
    return names


def _theme_slug(name: str, info: ValidationInfo) -> str:
    context = info.context or {}
    slug = context.get("themes", {}).get(name.strip().casefold())
    if slug is None:
        known = context.get("known") or "none defined in the config"
        raise ValueError(f"unknown theme {shown(name)} (known: {known})")
    return str(slug)


def _place(value: Any) -> str | None:
    return None if value in (None, "") else _one_line(value)


def _language(value: Any) -> str | None:
    return language_tag(value) if value else None  # none: the site's language


def _footer(value: Any) -> str:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected Markdown text")
    return value or ""


def _slug(value: Any) -> str | None:
    if value is None:
        return None
    slug = _text(value)
    if not slug or not SLUG.match(slug):
        raise ValueError("expected lower case letters, digits and hyphens")
    return slug


Line = Annotated[str, BeforeValidator(_one_line), BeforeValidator(_required)]
Day = date  # inside the model, ``date`` names the field


class BulletinMeta(BaseModel):
    """The front matter of one bulletin file, checked; ``language`` None means the site's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Line
    forum: Line
    group: Line
    date: Annotated[date, BeforeValidator(_calendar_date), BeforeValidator(_required)]
    place: Annotated[str | None, BeforeValidator(_place)] = None
    end_date: Annotated[Day | None, BeforeValidator(_calendar_date),
                        BeforeValidator(_optional)] = None
    language: Annotated[str | None, BeforeValidator(_language)] = None
    themes: Annotated[tuple[Annotated[str, AfterValidator(_theme_slug)], ...],
                      BeforeValidator(_theme_names)] = ()
    footer: Annotated[str, BeforeValidator(_footer)] = ""
    send_at: Annotated[datetime | None, BeforeValidator(_moment)] = None
    slug: Annotated[str | None, BeforeValidator(_slug)] = None

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, value: Day | None, info: ValidationInfo) -> Day | None:
        start = info.data.get("date")
        if value is not None and isinstance(start, Day) and value < start:
            raise ValueError(f"ends ({value}) before it starts ({start})")
        return value

    @field_validator("themes")
    @classmethod
    def _each_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))


def themes_of(settings: Settings) -> dict[str, Any]:
    """The validation context: every name a theme is known by (slug, title in any language,
    aliases; any case) → its slug, and the slugs to list when a name is unknown."""
    index: dict[str, str] = {}
    for slug, theme in settings.themes.items():
        for name in (slug, theme.title, *theme.titles.values(), *theme.aliases):
            index.setdefault(name.strip().casefold(), slug)
    return {"themes": index, "known": ", ".join(settings.themes)}


WORDING = {"missing": MISSING,
           "extra_forbidden": f"unknown key (expected: {', '.join(BulletinMeta.model_fields)})"}
