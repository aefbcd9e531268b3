"""Writing an edition's or bulletin's rendered forms to its folder under ``out/``.

``email.html`` and ``email.txt`` are the exact parts members receive, with the per-member
placeholders filled with neutral preview values; ``index.html`` is the web version and the
PDF is named after the edition.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from digest.config import Settings
from digest.files import write_atomic
from digest.models import PLACEHOLDERS, RenderedEmail


@dataclass(frozen=True)
class RenderedForms:
    """Everything rendered for one edition or bulletin (the full variant)."""

    email: RenderedEmail
    web_html: str
    pdf: bytes


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


def write_forms(folder: Path, stem: str, forms: RenderedForms, settings: Settings) -> list[Path]:
    """Write email.html, email.txt, <stem>.pdf and index.html; return the paths written."""
    values = preview_values(settings)
    return [
        write_atomic(folder / "email.html", fill_placeholders(forms.email.html, values,
                                                              escape=True)),
        write_atomic(folder / "email.txt", fill_placeholders(forms.email.text, values,
                                                             escape=False)),
        write_atomic(folder / f"{stem}.pdf", forms.pdf),
        write_atomic(folder / "index.html", forms.web_html),
    ]
