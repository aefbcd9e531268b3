"""Rendering an edition for sending: its full forms once, each member variant's email once,
and one message made from each email, before any delivery row waits on it.

An item that cannot be rendered is left out (``isolation``); an edition that cannot be
rendered at all raises ``RenderError``, for the caller to mark it failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from digest import compose
from digest.errors import RenderError
from digest.identifiers import VariantKey
from digest.jobs.context import Context
from digest.jobs.forms import RenderedForms, sample_message
from digest.jobs.isolation import LeftOut, render_leaving_out
from digest.links import console_edition_links, edition_links, web_language_folder
from digest.models import Edition, EditionLinks, RenderedEmail
from digest.render.email import render_edition_email
from digest.render.pdf import render_edition_pdf
from digest.render.web import render_edition_web


@dataclass(frozen=True)
class Prepared:
    """An edition rendered once per variant, plus its full forms for the archive."""

    forms: RenderedForms
    variants: dict[str, RenderedEmail]


@dataclass(frozen=True)
class Rendered:
    """An edition rendered, the edition it was rendered from, and the items left out."""

    prepared: Prepared
    edition: Edition
    left_out: list[LeftOut]


def render_edition(ctx: Context, edition: Edition,
                   variant_keys: Iterable[VariantKey]) -> Prepared:
    """Render the full edition's forms, then each named non-empty variant's email once
    (``variants`` by the key's stored text, as the outbox rows name them). A variant in
    another language than the site's links to the web version in its language, rendered
    here too."""
    keys = list(variant_keys)
    links = edition_links(ctx.settings, edition.digest_id, edition.number)
    email = render_edition_email(edition, ctx.settings, links)
    forms = RenderedForms(email=email,
                          web_html=render_edition_web(edition, ctx.settings, links),
                          pdf=render_edition_pdf(edition, ctx.settings, links),
                          web_versions=web_versions(ctx, edition,
                                                    (key.language for key in keys)))
    variants: dict[str, RenderedEmail] = {}
    for key in keys:
        name = str(key)
        if name in variants:
            continue
        rendered = ((None if edition.is_empty else email) if key == VariantKey.everything()
                    else variant_email(ctx, edition, key, edition_links(
                        ctx.settings, edition.digest_id, edition.number, key.language)))
        if rendered is not None:
            variants[name] = rendered
    return Prepared(forms=forms, variants=variants)


def web_versions(ctx: Context, edition: Edition,
                 languages: Iterable[str | None]) -> dict[str, str]:
    """The edition's web version in each of ``languages`` that is not the site's, by its
    folder (``links.web_language_folder``): every item, as the site's version lists them,
    with the labels, dates and theme titles of that language."""
    pages: dict[str, str] = {}
    for language in languages:
        folder = web_language_folder(ctx.settings, language)
        if folder is not None and folder not in pages:
            links = edition_links(ctx.settings, edition.digest_id, edition.number, folder)
            pages[folder] = render_edition_web(edition, ctx.settings, links, folder)
    return pages


def variant_email(ctx: Context, edition: Edition, key: VariantKey,
                  links: EditionLinks) -> RenderedEmail | None:
    """The email the members of one variant get (None: none of their themes has an item,
    they get no message); the console's preview renders one variant alone through it."""
    variant = compose.variant_of(edition, key)
    if variant.edition.is_empty:
        return None
    return render_edition_email(variant.edition, ctx.settings, links,
                                key.language)  # None: the site's language


def unpublished_email(ctx: Context, edition: Edition,
                      key: VariantKey | None = None) -> RenderedEmail | None:
    """A variant's email (default: the full edition) as a [TEST] copy of an edition not
    published yet shows it: its web links go to the console's page of the edition, since
    its web version appears only once it goes out (``jobs.publication``)."""
    links = console_edition_links(ctx.settings, edition.digest_id, edition.number)
    if key is None or key == VariantKey.everything():
        return None if edition.is_empty else render_edition_email(edition, ctx.settings, links)
    return variant_email(ctx, edition, key, links)


def prepare(ctx: Context, edition: Edition, variant_keys: Iterable[VariantKey]) -> Rendered:
    """Render (and check) an edition, leaving out each item that cannot be rendered;
    ``RenderError`` when the edition cannot be rendered at all."""
    prepared, kept, left_out = render_leaving_out(
        partial(_checked, ctx, tuple(variant_keys)), edition)
    return Rendered(prepared=prepared, edition=kept, left_out=left_out)


def left_out_lines(label: str, left_out: list[LeftOut]) -> list[str]:
    """One run-summary line per item left out of an edition: its key, source and why."""
    return [f"{label}: left out item {entry.item.key} from source "
            f"{entry.item.source_id!r}: {entry.reason}" for entry in left_out]


def _checked(ctx: Context, variant_keys: Iterable[VariantKey], edition: Edition) -> Prepared:
    """``render_edition``, and one message made from each email: everything sending will
    do with the rendered text, done before any delivery row waits on it."""
    prepared = render_edition(ctx, edition, variant_keys)
    now = ctx.clock.now()
    emails = {id(email): email for email in (prepared.forms.email, *prepared.variants.values())}
    for email in emails.values():
        try:
            sample_message(ctx, email, edition.digest_id, now)
        except (UnicodeError, ValueError) as exc:
            raise RenderError(f"the message could not be made: {exc}") from exc
    return prepared
