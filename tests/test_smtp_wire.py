"""The bytes the SMTP client writes, against ``smtplib``'s own: ``transports.wire`` skips
smtplib's address parser for dot-atom addresses and stuffs CRLF-only content without its
regular expression, and ``MessageFactory`` builds each message's ``Envelope.wire`` from a
variant's pieces stuffed once; all must give smtplib's bytes.
"""

from __future__ import annotations

import random
import re
import smtplib
from pathlib import Path

import pytest

from digest.mail.envelope import dot_stuffed
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
    """Random messages of dots and line ends, with CRLF only (``dot_stuffed``, also piece
    by piece at line starts, as the factory stuffs) and with bare CR or LF (smtplib's
    rule): smtplib's bytes."""
    rng = random.Random(13)
    for _ in range(3000):
        data = _random_message(rng, crlf_only=True)
        assert stuffed(data) == _smtplib_data(data), data
        lines = [piece + b"\r\n" for piece in data.split(b"\r\n")]
        cut = rng.randrange(len(lines) + 1)
        whole = b"".join(lines)
        pieces = dot_stuffed(b"".join(lines[:cut])) + dot_stuffed(b"".join(lines[cut:]))
        assert pieces == _smtplib_data(whole), whole
        mixed = _random_message(rng, crlf_only=False)
        assert stuffed(mixed) == _smtplib_data(mixed), mixed


NAMES = ["", "Ben", "Ben & Jerry", "Müller", "Eve\r\nBcc: x@y.org", "a\nb\rc", "x" * 120,
         ". leading dot", "Zoë Ğ " * 30, "." * 200, "a" * 73 + ".b", "a" * 74 + ".." + "c" * 80]
TEXTS = ["plain", ".starts with a dot\n.and again\r\n.", "bare\rcr and\nlf\r\n",
         "long line " * 200, "Ğ" * 300 + "\n.\n", "ends without line end", "." * 300,
         "x" * 74 + "." + "y" * 80, "%%NAME%%.\n.%%NAME%%\n%%EMAIL%%", "100%. %b %s\n.%"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", TEXTS)
def test_built_messages_come_as_smtp_carries_them(tmp_path: Path, name: str,
                                                   text: str) -> None:
    """The factory's ``Envelope.wire`` is smtplib's DATA for its message, whatever the
    member's name (placed where a line starts, wrapped onto new lines) and the variant's
    text (dots where quoted-printable lines start); no bare CR or LF anywhere."""
    settings = make_settings(tmp_path)
    variant = rendered(subject=f"Weekly {name}",
                       text=text + "%%NAME%%{{ unsubscribe_url }}\n%%NAME%%",
                       html=f"<p>{text}</p>%%NAME%%<p>.%%NAME%%</p>")
    factory = MessageFactory(variant, settings, make_list_id(settings, "weekly"), MESSAGE_NOW)
    member = recipient(name=name)
    envelope = factory.build(member, make_message_id(settings, "weekly/1", member.email))
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", envelope.data) is None
    assert envelope.wire == _smtplib_data(envelope.data)
    assert envelope.wire == stuffed(envelope.data)


def test_a_message_without_dots_at_line_starts_is_its_own_wire(tmp_path: Path) -> None:
    """No copy when stuffing changes nothing (most members, most variants)."""
    settings = make_settings(tmp_path)
    factory = MessageFactory(rendered(text="Dear %%NAME%%,\n", html="<p>%%NAME%%</p>"),
                             settings, make_list_id(settings, "weekly"), MESSAGE_NOW)
    envelope = factory.build(recipient(name="Ben"), make_message_id(settings, "w/1", "b@x.org"))
    assert envelope.wire is envelope.data
