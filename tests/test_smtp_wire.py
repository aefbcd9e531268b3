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

from digest.mail.envelope import PermanentFailure, dot_stuffed
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.mail.transports.wire import quoted, stuffed
from digest.models import PLACEHOLDERS
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


# Pieces of templates and of members' values, chosen to put dots where lines start (after
# a line break, after a quoted-printable soft break, at a placeholder), beside percent
# signs, line ends of every kind, characters that quoted-printable escapes and long runs.
_TEMPLATE_ATOMS = [".", "..", "a", " ", "\n", "\r\n", "\r", "\n.", "%", "%%", "%b", "%s",
                   "=", "ü", "Ğ", "😀", "\x85", "\x0b", "\u2028", "\t", "&", "<", '"', ". ",
                   "x" * 70, "y" * 75, "%%NAME", "NAME%%", *PLACEHOLDERS.values()]
_VALUE_ATOMS = [".", "..", "a", " ", "x" * 30, "y" * 73, "ü", "Ğ", "&", "=", "%", ".&", "\t",
                "\n", "\x85"]


def _random_text(rng: random.Random, atoms: list[str], most: int) -> str:
    return "".join(rng.choice(atoms) for _ in range(rng.randrange(most)))


def test_random_variants_and_members_come_as_smtp_carries_them(tmp_path: Path) -> None:
    """A property over seeded random variants and members: ``Envelope.wire`` (the pieces
    and values stuffed apart) is always smtplib's DATA for the whole message."""
    rng = random.Random(2026)
    settings = make_settings(tmp_path)
    list_id = make_list_id(settings, "weekly")
    built = 0
    for _ in range(150):
        variant = rendered(subject=_random_text(rng, _TEMPLATE_ATOMS, 20) or "Weekly",
                           text=_random_text(rng, _TEMPLATE_ATOMS, 60),
                           html=_random_text(rng, _TEMPLATE_ATOMS, 60))
        factory = MessageFactory(variant, settings, list_id, MESSAGE_NOW)
        for _ in range(3):
            local = rng.choice([".a", "a.b", "x" * 60, "a=b", "a%b", "o'b"])
            member = Recipient(
                email=f"{local}@{rng.choice(['example.org', 'bücher.de'])}",
                name=_random_text(rng, _VALUE_ATOMS, 30),
                unsubscribe_url=rng.choice([
                    "", ".u", "https://x.org/u?a=1&b=.c",
                    "https://x.org/" + _random_text(rng, _VALUE_ATOMS, 40)]),
                preferences_url=rng.choice(["", ".p", "https://x.org/p " + "." * 80]))
            try:
                envelope = factory.build(member, make_message_id(settings, "w/1", member.email))
            except PermanentFailure:  # an address the factory refuses: nothing to send
                continue
            built += 1
            assert envelope.wire == _smtplib_data(envelope.data), (variant, member)
            assert re.search(rb"\r(?!\n)|(?<!\r)\n", envelope.data) is None
    assert built > 300
