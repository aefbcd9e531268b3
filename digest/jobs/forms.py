"""Writing an edition's or bulletin's rendered forms to its folder under ``out/``, and
where those folders are: ``editions/<digest>/<number>/`` and ``bulletins/<slug>/``, with
each series' archive page (``index.html``) one level up.

``email.html`` and ``email.txt`` are the exact parts members receive, with the per-member
placeholders filled with neutral preview values; ``index.html`` is the web version and the
PDF is named after the edition. A sample message (``sample.eml``, ``digest preview
--format eml``) is the message a member would receive, addressed to the same preview
member.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from digest.config import Settings
from digest.config.paths import inside
from digest.files import write_atomic
from digest.jobs.context import Context
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.models import PLACEHOLDERS, RenderedEmail


@dataclass(frozen=True)
class RenderedForms:
    """Everything rendered for one edition or bulletin (the full variant); ``web_versions``
    are the web version in each other language its members read, by folder
    (``links.web_language_folder``)."""

    email: RenderedEmail
    web_html: str
    pdf: bytes
    web_versions: Mapping[str, str] = field(default_factory=dict)


def editions_folder(out_dir: Path) -> Path:
    """The digests' folder: one folder per digest (served at ``/editions``)."""
    return out_dir / "editions"


def digest_folder(out_dir: Path, digest_id: str) -> Path:
    """A digest's folder: its archive page, and one folder per edition."""
    return editions_folder(out_dir) / digest_id


def edition_folder(out_dir: Path, digest_id: str, number: int) -> Path:
    """The folder of a digest's edition ``number``: its forms and sample message."""
    return digest_folder(out_dir, digest_id) / str(number)


def bulletins_folder(out_dir: Path) -> Path:
    """The bulletins' folder: their archive page, and one folder per bulletin."""
    return out_dir / "bulletins"


def bulletin_folder(out_dir: Path, slug: str) -> Path:
    """A bulletin's folder: its forms and sample message."""
    return bulletins_folder(out_dir) / slug


def published_folders(settings: Settings) -> dict[str, Path]:
    """The folders ``digest serve`` publishes, by their path under the site's URL: whatever
    is written in them is public."""
    return {"editions": editions_folder(settings.out_dir),
            "bulletins": bulletins_folder(settings.out_dir),
            "feeds": settings.feeds_dir}


def is_published(settings: Settings, folder: Path) -> bool:
    """Whether ``folder`` is, or is inside, a folder ``digest serve`` publishes."""
    real = folder.resolve()
    return any(inside(real, published.resolve())
               for published in published_folders(settings).values())


def preview_values(settings: Settings) -> dict[str, str]:
    """The values shown in place of a member's own links and name outside a real message."""
    base = settings.site.base_url
    return {
        "unsubscribe_url": f"{base}/u/preview",
        "preferences_url": f"{base}/p/preview",
        "name": "Forum member",
        "email": "member@example.org",
    }


def fill_placeholders(text: str, values: dict[str, str], *, escape: bool) -> str:
    """Put preview values where a real message would carry a member's own."""
    for name, marker in PLACEHOLDERS.items():
        value = values[name]
        text = text.replace(marker, html.escape(value) if escape else value)
    return text


def preview_html(forms: RenderedForms, settings: Settings) -> str:
    """The email's HTML part with the preview member's values."""
    return fill_placeholders(forms.email.html, preview_values(settings), escape=True)


def preview_text(forms: RenderedForms, settings: Settings) -> str:
    """The email's text part with the preview member's values."""
    return fill_placeholders(forms.email.text, preview_values(settings), escape=False)


def write_forms(folder: Path, stem: str, forms: RenderedForms, settings: Settings) -> list[Path]:
    """Write email.html, email.txt, <stem>.pdf and index.html, and each other language's
    web version as <language>/index.html; return the paths written."""
    return [
        write_atomic(folder / "email.html", preview_html(forms, settings)),
        write_atomic(folder / "email.txt", preview_text(forms, settings)),
        write_atomic(folder / f"{stem}.pdf", forms.pdf),
        write_atomic(folder / "index.html", forms.web_html),
        *(write_atomic(folder / language / "index.html", html)
          for language, html in sorted(forms.web_versions.items())),
    ]


def web_version_paths(folder: Path, languages: Iterable[str]) -> list[Path]:
    """Where an edition's web versions are: its own ``index.html``, then one per language
    folder."""
    return [folder / "index.html", *(folder / language / "index.html"
                                     for language in sorted(set(languages)))]


def form_bytes(ctx: Context, forms: RenderedForms, form: str, name: str) -> bytes:
    """One form as ``digest preview --format`` writes it: html, text, mjml (the source
    before compilation), pdf, or eml (a sample message named after ``name``)."""
    if form == "html":
        return preview_html(forms, ctx.settings).encode()
    if form == "text":
        return preview_text(forms, ctx.settings).encode()
    if form == "mjml":
        return forms.email.mjml.encode()
    if form == "pdf":
        return forms.pdf
    return sample_message(ctx, forms.email, name, ctx.clock.now())


def sample_message(ctx: Context, email: RenderedEmail, name: str, now: datetime) -> bytes:
    """The message a member would receive, addressed to the preview recipient; making it
    also proves that every message of this email can be made."""
    recipient = sample_recipient(ctx)
    factory = MessageFactory(email, ctx.settings, make_list_id(ctx.settings, name), now)
    message_id = make_message_id(ctx.settings, f"sample/{name}", recipient.email)
    return factory.build(recipient, message_id).data


def sample_recipient(ctx: Context) -> Recipient:
    """The preview member as a message's recipient."""
    values = preview_values(ctx.settings)
    return Recipient(email=values["email"], name=values["name"],
                     unsubscribe_url=values["unsubscribe_url"],
                     preferences_url=values["preferences_url"])
