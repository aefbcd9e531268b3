"""The few HTML pages of the members' web app, written out here and escaped everywhere.

They are small on purpose: one button to unsubscribe (RFC 8058 asks that a GET never
unsubscribes, since mail scanners follow links), one form for preferences. Every value that
comes from the store or the request goes through ``html.escape``. Their words are gettext
messages (``N_``), in the member's language (or the site's) from the catalogs in
``digest/render/locales``, like the templates' words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape

from digest.models import SubscriberStatus
from digest.render.i18n import N_, translate

_Translate = Callable[[str], str]
_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:34rem;"
    "margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}"
    "h1{font-size:1.4rem}button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.3rem;"
    "border:1px solid #1d4e89;background:#1d4e89;color:#fff;cursor:pointer}"
    "fieldset{border:1px solid #ccc;border-radius:.3rem;margin:1rem 0}"
    "label{display:block;margin:.2rem 0}.note{color:#555;font-size:.9rem}"
    ".error{color:#a00}"
)

EDITIONS = N_("Editions")
BULLETINS = N_("Bulletins")
FEEDS = N_("Feeds")
SAVED = N_("Saved.")
SAVED_AND_SUBSCRIBED = N_("Saved. You are subscribed again.")
BOUNCED_NOT_SUBSCRIBED = N_(
    "Your themes and language are saved, but you are not subscribed again: mail to this "
    "address bounced, so it cannot be subscribed again from this page. Write to the "
    "forum's team to have it checked.")
UNKNOWN_CHOICE = N_("Unknown theme or language: nothing was changed.")


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


def unsubscribe_form(site_title: str, email: str, action: str, language: str = "en") -> str:
    """The page behind the List-Unsubscribe link: one button that posts what a one-click
    client would post."""
    _ = _words(language)
    return page(site_title, _("Unsubscribe"), (
        f"<p>{_with_email(_('Stop sending digests to %(email)s?'), email)}</p>"
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f"<button type=\"submit\">{escape(_('Unsubscribe'))}</button></form>"
    ), language)


def unsubscribed(site_title: str, email: str, preferences: str, status: SubscriberStatus,
                 language: str = "en") -> str:
    """After the one click; a bounced member is not offered to subscribe again."""
    _ = _words(language)
    again = "" if status is SubscriberStatus.BOUNCED else (
        f'<p class="note">{escape(_("Changed your mind?"))} <a href="{escape(preferences)}">'
        f"{escape(_('Your preferences can subscribe you again.'))}</a></p>")
    return page(site_title, _("You are unsubscribed"), (
        f"<p>{_with_email(_('%(email)s will receive no more digests or bulletins.'), email)}"
        f"</p>{again}"
    ), language)


def preferences_form(site_title: str, email: str, action: str, themes: Mapping[str, str],
                     chosen: Iterable[str], languages: Mapping[str, str], language: str,
                     status: SubscriberStatus, message: str = "", error: str = "") -> str:
    """Themes (none ticked: every theme) and language, plus subscribing again, offered only
    to a member who unsubscribed: a bounced address is told why it cannot be."""
    _ = _words(language)
    chosen_set = set(chosen)
    boxes = "".join(
        f'<label><input type="checkbox" name="themes" value="{escape(slug)}"'
        f'{" checked" if slug in chosen_set else ""}> {escape(title)}</label>'
        for slug, title in themes.items())
    options = "".join(
        f'<option value="{escape(code)}"{" selected" if code == language else ""}>'
        f"{escape(name)}</option>" for code, name in languages.items())
    if status is SubscriberStatus.UNSUBSCRIBED:
        state = ('<label><input type="checkbox" name="subscribe" value="1"> '
                 f"{escape(_('Subscribe me again'))}</label>")
        whose = _("Preferences of %(email)s (unsubscribed).")
    elif status is SubscriberStatus.BOUNCED:
        state = ('<p class="note">' + escape(_(
            "Mail to this address bounced, so it receives nothing and cannot be subscribed "
            "again from this page. Write to the forum's team to have it checked.")) + "</p>")
        whose = _("Preferences of %(email)s (mail bounced).")
    else:
        state, whose = "", _("Preferences of %(email)s.")
    notice = (f'<p class="error">{escape(_(error))}</p>' if error else
              f"<p><strong>{escape(_(message))}</strong></p>" if message else "")
    return page(site_title, _("Your preferences"), (
        f"{notice}<p>{_with_email(whose, email)}</p>"
        f'<form method="post" action="{escape(action)}">'
        f"<fieldset><legend>{escape(_('Themes (none ticked: all of them)'))}</legend>{boxes}"
        f"</fieldset><fieldset><legend>{escape(_('Language'))}</legend>"
        f'<select name="language">{options}</select>'
        f"</fieldset>{state}<button type=\"submit\">{escape(_('Save'))}</button></form>"
    ), language)


def not_found(site_title: str, language: str = "en") -> str:
    _ = _words(language)
    return page(site_title, _("Link not valid"), "<p>" + escape(_(
        "This link is not valid: it may have been cut when it was copied. Use the link "
        "at the bottom of one of your digests.")) + "</p>", language)


def index(site_title: str, links: Sequence[tuple[str, str]], language: str = "en") -> str:
    """The site's front page: ``links`` are (message, URL) pairs."""
    _ = _words(language)
    items = "".join(f'<li><a href="{escape(url)}">{escape(_(label))}</a></li>'
                    for label, url in links)
    return page(site_title, site_title, f"<ul>{items}</ul>", language)


def editions(site_title: str, digests: Sequence[tuple[str, str | None]],
             language: str = "en") -> str:
    """Each digest, linked to its archive, or said to have no edition yet."""
    _ = _words(language)
    items = "".join(
        f'<li><a href="{escape(url)}">{escape(title)}</a></li>' if url else
        f"<li>{escape(title)} <span class=\"note\">({escape(_('no edition yet'))})</span></li>"
        for title, url in digests)
    return page(site_title, _(EDITIONS), f"<ul>{items}</ul>" if items else
                f"<p>{escape(_('No digest is configured.'))}</p>", language)


def _words(language: str) -> _Translate:
    return lambda message: translate(language, message)


def _with_email(message: str, email: str) -> str:
    """A translated message, escaped, with the address in bold where it says %(email)s."""
    return escape(message) % {"email": f"<strong>{escape(email)}</strong>"}

