"""The few HTML pages of the members' web app, written out here and escaped everywhere.

They are small on purpose: one button to unsubscribe (RFC 8058 asks that a GET never
unsubscribes, since mail scanners follow links), one form for preferences. Every value that
comes from the store or the request goes through ``html.escape``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:34rem;"
    "margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}"
    "h1{font-size:1.4rem}button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.3rem;"
    "border:1px solid #1d4e89;background:#1d4e89;color:#fff;cursor:pointer}"
    "fieldset{border:1px solid #ccc;border-radius:.3rem;margin:1rem 0}"
    "label{display:block;margin:.2rem 0}.note{color:#555;font-size:.9rem}"
    ".error{color:#a00}"
)


def page(site_title: str, title: str, body: str, language: str = "en") -> str:
    """A whole page around ``body`` (already escaped HTML)."""
    return (
        f'<!doctype html>\n<html lang="{escape(language)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex">'
        f"<title>{escape(title)} · {escape(site_title)}</title><style>{_STYLE}</style></head>"
        f"<body><p class=\"note\">{escape(site_title)}</p><h1>{escape(title)}</h1>{body}"
        f"</body></html>\n"
    )


def unsubscribe_form(site_title: str, email: str, action: str) -> str:
    """The page behind the List-Unsubscribe link: one button that posts what a one-click
    client would post."""
    return page(site_title, "Unsubscribe", (
        f"<p>Stop sending digests to <strong>{escape(email)}</strong>?</p>"
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        "<button type=\"submit\">Unsubscribe</button></form>"
    ))


def unsubscribed(site_title: str, email: str, preferences: str) -> str:
    return page(site_title, "You are unsubscribed", (
        f"<p><strong>{escape(email)}</strong> will receive no more digests or bulletins.</p>"
        f'<p class="note">Changed your mind? Your <a href="{escape(preferences)}">'
        "preferences</a> can subscribe you again.</p>"
    ))


def preferences_form(site_title: str, email: str, action: str, themes: Mapping[str, str],
                     chosen: Iterable[str], languages: Mapping[str, str], language: str,
                     subscribed: bool, message: str = "", error: str = "") -> str:
    """Themes (none ticked: every theme) and language, plus (re)subscribing."""
    chosen_set = set(chosen)
    boxes = "".join(
        f'<label><input type="checkbox" name="themes" value="{escape(slug)}"'
        f'{" checked" if slug in chosen_set else ""}> {escape(title)}</label>'
        for slug, title in themes.items())
    options = "".join(
        f'<option value="{escape(code)}"{" selected" if code == language else ""}>'
        f"{escape(name)}</option>" for code, name in languages.items())
    state = ("" if subscribed else
             '<label><input type="checkbox" name="subscribe" value="1"> '
             "Subscribe me again</label>")
    notice = (f'<p class="error">{escape(error)}</p>' if error else
              f"<p><strong>{escape(message)}</strong></p>" if message else "")
    return page(site_title, "Your preferences", (
        f"{notice}<p>Preferences of <strong>{escape(email)}</strong>"
        f"{'' if subscribed else ' (unsubscribed)'}.</p>"
        f'<form method="post" action="{escape(action)}">'
        f"<fieldset><legend>Themes (none ticked: all of them)</legend>{boxes}</fieldset>"
        f'<fieldset><legend>Language</legend><select name="language">{options}</select>'
        f"</fieldset>{state}<button type=\"submit\">Save</button></form>"
    ))


def not_found(site_title: str) -> str:
    return page(site_title, "Link not valid", (
        "<p>This link is not valid: it may have been cut when it was copied. Use the link "
        "at the bottom of one of your digests.</p>"
    ))


def index(site_title: str, feeds: str, editions: str, bulletins: str) -> str:
    return page(site_title, site_title, (
        f'<ul><li><a href="{escape(editions)}">Editions</a></li>'
        f'<li><a href="{escape(bulletins)}">Bulletins</a></li>'
        f'<li><a href="{escape(feeds)}">Feeds</a></li></ul>'
    ))
