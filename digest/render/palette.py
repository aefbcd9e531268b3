"""The colours of the emails, web pages and PDFs, for light and dark mode, in one place.

Templates take their colours from here (``light`` and ``dark`` in every template context),
so the pairs of text and background that readers actually see can be checked for WCAG 2
contrast (``contrast_ratio``; tests hold every pair in ``TEXT_PAIRS`` to at least 4.5:1,
the AA level for body text). Dark mode keeps the brand masthead and swaps the light
surfaces for dark ones, in clients that honour ``prefers-color-scheme``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    """One colour scheme; every value is ``#rrggbb``."""

    page: str  # behind the card (top bar and footer sit on it)
    card: str  # behind the content
    ink: str  # body text
    muted: str  # dates, footer, top bar
    heading: str  # section headings and item titles
    link: str
    brand: str  # the masthead's background
    on_brand: str  # the masthead's title
    on_brand_muted: str  # the masthead's date line
    tag: str  # theme label background
    on_tag: str  # theme label text
    line: str  # separators (not text)
    quote: str  # quoted text


LIGHT = Palette(page="#eef1f4", card="#ffffff", ink="#1f2933", muted="#56616b",
                heading="#0b3d62", link="#0b5fa5", brand="#0b3d62", on_brand="#ffffff",
                on_brand_muted="#d6e4f0", tag="#e8eef4", on_tag="#35506a", line="#e4e7eb",
                quote="#4a5561")

DARK = Palette(page="#11181f", card="#1b2530", ink="#e6edf3", muted="#aab6c1",
               heading="#9cc9f5", link="#8cc4ff", brand="#0b3d62", on_brand="#ffffff",
               on_brand_muted="#d6e4f0", tag="#2b3b4c", on_tag="#d6e4f0", line="#2b3b4c",
               quote="#c3ccd5")

# (text, background) pairs as they appear, by the names of ``Palette``'s fields.
TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("ink", "card"), ("muted", "card"), ("muted", "page"), ("heading", "card"),
    ("link", "card"), ("link", "page"), ("on_brand", "brand"), ("on_brand_muted", "brand"),
    ("on_tag", "tag"), ("quote", "card"),
)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    r, g, b = (int(text[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio between two colours, from 1 to 21."""
    first, second = sorted((relative_luminance(foreground), relative_luminance(background)),
                           reverse=True)
    return (first + 0.05) / (second + 0.05)
