"""RFC 5322 messages from a rendered variant: encoded once, personalised per recipient.

``MessageFactory`` does the expensive part once per variant: it folds and encodes the
common headers and quoted-printable-encodes the text and HTML parts piece by piece, split
at the per-recipient placeholders of ``digest.models.PLACEHOLDERS`` (``mail.parts``).
``build`` then only encodes the few values of one member (escaped for HTML, plain for text)
and joins bytes.

Headers are written by hand where the ``email`` package would get them wrong for mail
clients: ``List-Unsubscribe`` is never RFC 2047-encoded nor folded inside a URL (RFC 2369,
RFC 8058); names and subjects go through the ``email`` package's encoder (RFC 2047 for
non-ASCII); every control character is removed from what ends up in a header, so nothing
in a title or name can add a header.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from functools import lru_cache
from urllib.parse import quote, urlsplit

from digest.config import Settings
from digest.dates import format_rfc822
from digest.keyed_hash import keyed_sha256
from digest.languages import is_language_tag
from digest.mail.envelope import SIMPLE_ADDRESS, SIMPLE_NAME, Envelope, PermanentFailure
from digest.mail.parts import html_values, prepare_part, qp, wire_values
from digest.models import RenderedEmail

__all__ = [
    "Envelope",
    "MessageFactory",
    "Recipient",
    "clean_header_text",
    "make_list_id",
    "make_message_id",
]

HEADER_LINE = 998  # RFC 5322's hard limit for any line
_POLICY = email_policy.SMTP  # folds at 78, CRLF, RFC 2047 for non-ASCII
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII, no < > or spaces
_LIST_ID_CHARS = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"
_URL_PLAIN = re.compile(r"[A-Za-z0-9" + re.escape(_URL_SAFE) + "]*")


@dataclass(frozen=True)
class Recipient:
    """One member's values for one message."""

    email: str
    name: str
    unsubscribe_url: str
    preferences_url: str




def make_message_id(settings: Settings, edition_key: str, recipient_email: str,
                    key: bytes = b"") -> str:
    """The Message-ID of one delivery: the same edition and address always give the same id.

    ``edition_key`` names what is sent (for instance ``weekly/12``); a test send should
    add something of its own (``weekly/12/test/<time>``) so it is not taken for the real one.
    The domain is the host of ``site.base_url``. A delivery's id is keyed with the site's
    secret (``key``): a bounce report naming it changes its member, so nobody who knows an
    address and an edition may work it out and forge one.
    """
    seed = f"{edition_key}\0{recipient_email.strip().lower()}".encode()
    digest = (keyed_sha256(key, seed) if key else hashlib.sha256(seed).digest()).hex()
    return f"<{digest[:40]}@{_site_host(settings.site.base_url)}>"


def make_list_id(settings: Settings, digest_id: str) -> str:
    """The RFC 2919 list id of a digest: ``<digest id>.<site host>``."""
    label = _LIST_ID_CHARS.sub("-", digest_id).strip(".-") or "digest"
    return f"{label}.{_site_host(settings.site.base_url)}"


def clean_header_text(text: str) -> str:
    """One line of text safe for a header: control characters, CR and LF become spaces."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


class MessageFactory:
    """Builds the messages of one rendered variant, one recipient at a time."""

    def __init__(self, rendered: RenderedEmail, settings: Settings, list_id: str,
                 now: datetime, test: bool = False) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"a message date needs a time zone: {now.isoformat()}")
        sender = settings.site.sender
        self._sender = _mailbox(sender.address)
        subject = clean_header_text(rendered.subject) or settings.site.title
        if test:
            subject = "[TEST] " + subject
        self._boundary = "=_digest_" + hashlib.sha256(
            "\0".join((rendered.subject, rendered.text, rendered.html)).encode()
        ).hexdigest()[:32]
        self._mailto = f"mailto:{self._sender}?subject=unsubscribe"
        name = clean_header_text(rendered.sender_name) or clean_header_text(sender.name)
        self._from = _header("From", _address_text(name, self._sender))
        self._common = b"".join((
            _header("Subject", subject),
            _raw_header("Date", format_rfc822(now)),
        ))
        language = rendered.language if is_language_tag(rendered.language) else ""
        label = _LIST_ID_CHARS.sub("-", list_id).strip(".-")
        if not label:
            raise ValueError(f"unusable list id {list_id!r}")
        self._list_id = _raw_header("List-Id", f"<{label}>")
        tail = [_raw_header("MIME-Version", "1.0")]
        if language:
            tail.append(_raw_header("Content-Language", language))
        tail.append(f'Content-Type: multipart/alternative;\r\n boundary="{self._boundary}"\r\n'
                    .encode("ascii"))
        self._tail = b"".join(tail) + b"\r\n"
        delimiter = f"--{self._boundary}\r\n".encode("ascii")
        self._text = prepare_part(rendered.text)
        self._html = prepare_part(rendered.html)
        part_head = ("Content-Type: text/{}; charset=\"utf-8\"\r\n"
                     "Content-Transfer-Encoding: quoted-printable\r\n\r\n")
        self._text_head = delimiter + part_head.format("plain").encode("ascii")
        self._html_head = delimiter + part_head.format("html").encode("ascii")
        self._close = f"--{self._boundary}--\r\n".encode("ascii")

    @property
    def sender(self) -> str:
        """The envelope sender (the site's sender address, ASCII), unless ``build`` is
        given a message's own (VERP)."""
        return self._sender

    def build(self, recipient: Recipient, message_id: str,
              envelope_sender: str | None = None) -> Envelope:
        """The message for one member; ``PermanentFailure`` if their address is unusable.

        ``envelope_sender`` is this message's own return path (VERP, ``bounces.return_path``)
        where bounces go; the From header stays the site's sender."""
        address = _mailbox(recipient.email, stage="address")
        name = clean_header_text(recipient.name)
        unsubscribe = _header_url(recipient.unsubscribe_url)
        values = {
            "unsubscribe_url": unsubscribe,
            "preferences_url": _header_url(recipient.preferences_url),
            "name": name,
            "email": address,
        }
        message_id = _message_id(message_id)
        headers = [
            self._from,
            _to_header(name, address),
            self._common,
            _raw_header("Message-ID", message_id),
            self._list_id,
        ]
        if unsubscribe:
            headers.append(self._list_unsubscribe(unsubscribe))
            if unsubscribe.lower().startswith("https://"):
                headers.append(_raw_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        headers.append(self._tail)
        plain = {key: qp(values[key]) for key in self._text.distinct | self._html.distinct}
        markup = html_values(values, plain, self._html.distinct)
        data = b"".join((*headers, self._text_head, self._text.fill(plain),
                         self._html_head, self._html.fill(markup), self._close))
        # Headers never start a line with a dot (names; folded lines start with a space),
        # so the stuffed parts make the whole message as SMTP carries it.
        text_wire, markup_wire = wire_values(plain), wire_values(markup)
        wire = data if (text_wire is plain and markup_wire is markup
                        and self._text.wire is self._text.format
                        and self._html.wire is self._html.format) else b"".join((
                            *headers, self._text_head, self._text.fill_wire(text_wire),
                            self._html_head, self._html.fill_wire(markup_wire), self._close))
        sender = _mailbox(envelope_sender) if envelope_sender else self._sender
        return Envelope(sender=sender, recipient=address, message_id=message_id, data=data,
                        wire=wire)

    def _list_unsubscribe(self, url: str) -> bytes:
        """``<https-url>, <mailto:...>`` on one line, or the mailto on a continuation line
        when one line would pass 998 characters; a URL is never split or encoded."""
        line = f"List-Unsubscribe: <{url}>, <{self._mailto}>"
        if len(line) <= HEADER_LINE:
            return (line + "\r\n").encode("ascii")
        first = f"List-Unsubscribe: <{url}>,"
        if len(first) > HEADER_LINE:
            raise PermanentFailure(f"unsubscribe URL too long for a header ({len(url)} chars)")
        return (f"{first}\r\n <{self._mailto}>\r\n").encode("ascii")


# ------------------------------------------------------------------ headers


def _header(name: str, value: str) -> bytes:
    """A header folded at 78 and RFC 2047-encoded where needed, by the ``email`` package."""
    folded = _POLICY.header_factory(name, value).fold(policy=_POLICY)
    return str(folded).encode("ascii")


def _raw_header(name: str, value: str) -> bytes:
    """A header whose value is already ASCII and must not be refolded or encoded."""
    if _CONTROL.search(value) or len(name) + 2 + len(value) > HEADER_LINE:
        raise ValueError(f"unsafe {name} header value {value!r}")
    return f"{name}: {value}\r\n".encode("ascii")


def _to_header(name: str, address: str) -> bytes:
    """``To: Name <address>``, folded and encoded as the email package would."""
    if not name or SIMPLE_NAME.fullmatch(name):
        line = f"To: {name} <{address}>" if name else f"To: {address}"
        if len(line) <= 78:
            return (line + "\r\n").encode("ascii")
    return _header("To", _address_text(name, address))


def _address_text(name: str, address: str) -> str:
    return str(Address(display_name=name, addr_spec=address)) if name else address


def _mailbox(email: str, stage: str = "") -> str:
    """An address fit for headers and the SMTP envelope (ASCII; IDN domains as punycode).

    A recipient's unusable address fails with ``stage="address"``: no later edition could be
    sent to it either (messages go without SMTPUTF8), so the member is marked bounced."""
    value = email.strip()
    simple = SIMPLE_ADDRESS.fullmatch(value)
    if simple:
        return f"{simple.group(1)}@{simple.group(2).lower()}"
    local, at, domain = value.rpartition("@")
    try:
        if not at or not local or not domain or _CONTROL.search(value):
            raise ValueError("not an address")
        ascii_domain = domain.encode("idna").decode("ascii").lower()
        address = Address(addr_spec=f"{local}@{ascii_domain}")
        result = address.addr_spec
        result.encode("ascii")
    except (ValueError, UnicodeError, HeaderParseError, MessageDefect) as exc:
        raise PermanentFailure(f"unusable recipient address {email!r}: {exc}",
                               stage=stage) from None
    return result


def _header_url(url: str) -> str:
    """A URL that can sit between ``<`` and ``>`` in a header: ASCII, no spaces or controls
    (anything else percent-encoded)."""
    if _URL_PLAIN.fullmatch(url):  # a link we made: already what ``quote`` would give
        return url
    cleaned = _CONTROL.sub("", url.strip())
    return quote(cleaned, safe=_URL_SAFE)


def _message_id(value: str) -> str:
    candidate = value.strip()
    if not candidate.startswith("<"):
        candidate = f"<{candidate}>"
    if not _MESSAGE_ID.fullmatch(candidate):
        raise ValueError(f"not a Message-ID: {value!r}")
    return candidate


@lru_cache(maxsize=64)  # asked once per message: the same few base URLs
def _site_host(base_url: str) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return "localhost"
