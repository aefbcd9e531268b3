"""The bytes the SMTP client writes, against ``smtplib``'s own, and the promise behind the
shortcut: a message ``MessageFactory`` built ends every line with CRLF (``Envelope.crlf``).

``transports.wire`` skips smtplib's address parser for dot-atom addresses and, for a
message known to use CRLF only, its line-end check; both must give smtplib's bytes.
"""

from __future__ import annotations

import random
import re
import smtplib
from pathlib import Path

import pytest

from digest.mail.message import MessageFactory, make_list_id, make_message_id
from digest.mail.transports.wire import quoted, stuffed
from tests.test_mail_message import NOW as MESSAGE_NOW
from tests.test_mail_message import make_settings, recipient, rendered

ADDRESSES = ["ben@example.org", "Ben.Smith+tag@Mail.Example.ORG", "o'brien@example.org",
             "a@b", "x{y}|z~@ex-ample.org", "user@xn--bcher-kva.example", "",
             '"quoted local"@example.org', "a..b@example.org", ".a@example.org",
             "a.@example.org", "a@-b.org", "a@b-.org", "Ben <ben@example.org>",
             "ben@example.org (Ben)", "<>", " ben@example.org ", "ben@[127.0.0.1]",
             "bücher@example.org", "a@b@c.org", "a b@example.org"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_envelope_addresses_are_quoted_as_smtplib_quotes_them(address: str) -> None:
    assert quoted(address) == smtplib.quoteaddr(address)


def _smtplib_data(data: bytes) -> bytes:
    """What ``smtplib.SMTP.data`` sends before its final ``.``."""
    stuffed_data: bytes = smtplib._quote_periods(data)  # type: ignore[attr-defined]
    return stuffed_data if stuffed_data.endswith(b"\r\n") else stuffed_data + b"\r\n"


def _random_message(rng: random.Random, crlf_only: bool) -> bytes:
    pieces = [b".", b"..", b"a", b"=", b" ", b"\r\n", b"\r\n.", b"\r\n..x"]
    if not crlf_only:
        pieces += [b"\n", b"\r", b"\n.", b"\r."]
    return b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))


def test_content_is_dot_stuffed_as_smtplib_stuffs_it() -> None:
    """Random messages of dots and line ends: with CRLF only, the shortcut and the full
    check give smtplib's bytes; with bare CR or LF, the full check does."""
    rng = random.Random(13)
    for _ in range(3000):
        data = _random_message(rng, crlf_only=True)
        assert stuffed(data, crlf=True) == _smtplib_data(data), data
        assert stuffed(data) == _smtplib_data(data), data
        mixed = _random_message(rng, crlf_only=False)
        assert stuffed(mixed) == _smtplib_data(mixed), mixed


NAMES = ["", "Ben", "Ben & Jerry", "Müller", "Eve\r\nBcc: x@y.org", "a\nb\rc", "x" * 120,
         ". leading dot", "Zoë Ğ " * 30]
TEXTS = ["plain", ".starts with a dot\n.and again\r\n.", "bare\rcr and\nlf\r\n",
         "long line " * 200, "Ğ" * 300 + "\n.\n", "ends without line end"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", TEXTS)
def test_built_messages_end_every_line_with_crlf(tmp_path: Path, name: str, text: str) -> None:
    """What ``Envelope.crlf`` promises of the factory's messages, whatever the member's
    name and the variant's text: no bare CR or LF anywhere."""
    settings = make_settings(tmp_path)
    variant = rendered(subject=f"Weekly {name}", text=text + "{{ unsubscribe_url }}",
                       html=f"<p>{text}</p>")
    factory = MessageFactory(variant, settings, make_list_id(settings, "weekly"), MESSAGE_NOW)
    member = recipient(name=name)
    envelope = factory.build(member, make_message_id(settings, "weekly/1", member.email))
    assert envelope.crlf
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", envelope.data) is None
    assert stuffed(envelope.data, crlf=True) == _smtplib_data(envelope.data)
