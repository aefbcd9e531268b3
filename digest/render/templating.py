"""The one Jinja2 environment of the renderers, and the theme formatting they share.

Templates are looked up by name, first in the project's own ``templates/`` folder (next to
``schedules.yaml``) and then in the defaults shipped with the package, so a project overrides
any default template by writing a file of the same name. Undefined names are errors
(``StrictUndefined``) and HTML/MJML templates are autoescaped; every Jinja2 failure leaves
this module as a ``RenderError``.

Dates come from ``digest.dates`` (the one place that formats them), through the filters
``event_dates`` and ``long_date``.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

import digest
from digest.config import Settings
from digest.dates import format_event_dates, format_long_date
from digest.errors import RenderError
from digest.links import feed_url, feeds_index_url
from digest.models import PLACEHOLDERS, EventInfo
from digest.render import i18n, palette
from digest.theme_titles import theme_titles

_TEMPLATE_SUFFIXES = (".j2", ".css", ".html", ".mjml", ".txt")
_AUTOESCAPED = (".html", ".mjml", ".xml", ".html.j2", ".mjml.j2", ".xml.j2")


# ---------------------------------------------------------------- where templates live


def default_templates_dir() -> Path:
    """The default templates: inside the installed package, else the repository's own."""
    packaged = Path(digest.__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(digest.__file__).parent.parent / "templates"


def template_dirs(settings: Settings) -> tuple[Path, ...]:
    """The folders searched for a template, first match wins: the project's, then defaults."""
    dirs: list[Path] = []
    project = settings.base_dir / "templates"
    if project.is_dir():
        dirs.append(project.resolve())
    default = default_templates_dir().resolve()
    if default not in dirs:
        dirs.append(default)
    return tuple(dirs)


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(_AUTOESCAPED)


@lru_cache(maxsize=16)
def _environment(dirs: tuple[Path, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
        extensions=["jinja2.ext.i18n"],
    )
    # gettext follows each render's ``language`` (one environment serves every language).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True)
    env.filters.update(
        event_dates=_event_dates_filter,
        long_date=_long_date_filter,
        theme_titles=_theme_titles_filter,
    )
    env.globals.update(t=_translate, PLACEHOLDERS=dict(PLACEHOLDERS))
    return env


def make_environment(settings: Settings) -> jinja2.Environment:
    """The Jinja2 environment for these settings (cached per set of template folders)."""
    return _environment(template_dirs(settings))


def base_context(settings: Settings, language: str | None = None) -> dict[str, Any]:
    """What every template may use: the site, the language and zone, theme titles, markers."""
    language = language or settings.site.language
    return {
        "site": settings.site,
        "feeds_url": feeds_index_url(settings),
        # Feed autodiscovery on public pages: everything, and the bulletins on their pages.
        "alternate_feeds": [(settings.site.title, feed_url(settings.site.base_url, "all.atom"))],
        "language": language,
        "zone": settings.site.zone,
        "theme_titles_map": theme_titles(settings, language),  # in the reader's language
        "placeholders": dict(PLACEHOLDERS),
        "light": palette.LIGHT,
        "dark": palette.DARK,
    }


def with_bulletins_feed(context: dict[str, Any], settings: Settings) -> None:
    """A bulletin's page and the bulletins' archive also point readers to the bulletins feed."""
    title = f"{settings.site.title}: {i18n.translate(context['language'], i18n.N_('Bulletins'))}"
    context["alternate_feeds"] = [*context["alternate_feeds"],
                                  (title, feed_url(settings.site.base_url, "bulletins.atom"))]


def render_template(settings: Settings, name: str, context: Mapping[str, Any]) -> str:
    """Render one template by name, with Jinja2's errors translated into ``RenderError``."""
    try:
        template = make_environment(settings).get_template(name)
        return template.render(context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from exc
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise RenderError(f"{where}: template syntax error: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{_where(exc, name)}: undefined in the template: "
                          f"{exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"{_where(exc, name)}: {exc}") from exc


def _where(exc: BaseException, name: str) -> str:
    """``FILE:LINE`` of the template line that failed (Jinja2 rewrites its tracebacks so
    template frames carry the template's file and line), else the template's name."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.endswith(_TEMPLATE_SUFFIXES)]
    if not frames:
        return f"template {name}"
    return f"{frames[-1].filename}:{frames[-1].lineno}"


# ---------------------------------------------------------------- filters and globals


@jinja2.pass_context
def _event_dates_filter(context: jinja2.runtime.Context, event: EventInfo) -> str:
    return format_event_dates(event, context["language"], context["zone"])


@jinja2.pass_context
def _long_date_filter(context: jinja2.runtime.Context, value: date | datetime) -> str:
    return format_long_date(value, context["language"], context["zone"])


@jinja2.pass_context
def _theme_titles_filter(context: jinja2.runtime.Context, slugs: Iterable[str]) -> list[str]:
    titles: Mapping[str, str] = context["theme_titles_map"]
    return [titles.get(slug, slug) for slug in slugs]


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str) -> str:
    return i18n.translate(context["language"], message)


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, count: int) -> str:
    return i18n.translate_plural(context["language"], singular, plural, count)


@jinja2.pass_context
def _translate(context: jinja2.runtime.Context, message: str, **values: object) -> str:
    """``t('{n} more', n=3)``: the older spelling of ``_()`` with ``str.format`` values,
    kept for projects whose own templates use it."""
    text = i18n.translate(context["language"], message)
    return text.format(**values) if values else text

