"""Messages built from a rendered variant, checked on their raw bytes and re-parsed."""

from __future__ import annotations

import email
import quopri
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path

import pytest

from digest.config import Settings
from digest.mail.envelope import PermanentFailure
from digest.mail.message import (
    MessageFactory,
    Recipient,
    clean_header_text,
    make_list_id,
    make_message_id,
)
from digest.models import PLACEHOLDERS, RenderedEmail
from digest.testing import build_settings

NOW = datetime(2019, 3, 18, 8, 0, tzinfo=timezone(timedelta(hours=1)))
U, P, N, E = (PLACEHOLDERS[k] for k in ("unsubscribe_url", "preferences_url", "name", "email"))
LONG_URL = "https://forum.example.org/digest/unsubscribe/" + "t0k3n-" * 40 + "end"


def make_settings(tmp_path: Path, sender_name: str = "Social Affairs Forum") -> Settings:
    """Messages from ``sender_name``, written under ``tmp_path``."""
    return build_settings(tmp_path, site={
        "output": str(tmp_path), "sender": {"name": sender_name, "address": "forum@example.org"}})


def rendered(subject: str = "Social Affairs weekly #12", *, html: str | None = None,
             text: str | None = None, language: str = "en") -> RenderedEmail:
    return RenderedEmail(
        subject=subject,
        preheader="Three news, two events",
        mjml="<mjml></mjml>",
        html=html if html is not None else (
            f'<!doctype html><html><body><p>Dear {N},</p><p>{"Long line. " * 40}</p>'
            f'<p>Sent to {E}. <a href="{U}">Unsubscribe</a> · '
            f'<a href="{P}">Preferences</a></p></body></html>'
        ),
        text=text if text is not None else (
            f"Dear {N},\n\n{'Long line. ' * 20}\n\nSent to {E}.\n"
            f"Unsubscribe: {U}\nPreferences: {P}\n"
        ),
        language=language,
    )


def recipient(name: str = "Ben & Jerry", address: str = "ben@example.org",
              unsubscribe: str = LONG_URL) -> Recipient:
    return Recipient(email=address, name=name, unsubscribe_url=unsubscribe,
                     preferences_url="https://forum.example.org/digest/preferences/7.abc?x=1&y=2")


def build(tmp_path: Path, variant: RenderedEmail | None = None, who: Recipient | None = None,
          test: bool = False, sender_name: str = "Social Affairs Forum") -> bytes:
    settings = make_settings(tmp_path, sender_name)
    factory = MessageFactory(variant or rendered(), settings, make_list_id(settings, "weekly"),
                             NOW, test=test)
    who = who or recipient()
    envelope = factory.build(who, make_message_id(settings, "weekly/12", who.email))
    assert envelope.sender == "forum@example.org"
    return envelope.data


def header_block(raw: bytes) -> list[str]:
    """The raw header lines (continuations included), as sent."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return head.split("\r\n")


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


# ------------------------------------------------------------------ raw headers


def test_an_unsubscribe_url_beyond_any_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PermanentFailure, match="too long"):
        build(tmp_path, who=recipient(unsubscribe="https://f.example.org/" + "x" * 990))


def test_list_unsubscribe_is_raw_one_click_and_unfolded(tmp_path: Path) -> None:
    raw = build(tmp_path)
    assert len(LONG_URL) > 200
    lines = header_block(raw)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    [line] = [x for x in lines if x.startswith("List-Unsubscribe:")]
    assert line == (f"List-Unsubscribe: <{LONG_URL}>, "
                    "<mailto:forum@example.org?subject=unsubscribe>")
    assert len(line) <= 998
    assert "=?" not in line
    index = lines.index(line)
    assert not lines[index + 1].startswith((" ", "\t"))  # not folded onto a next line


def test_http_unsubscribe_url_gets_no_one_click_header(tmp_path: Path) -> None:
    raw = build(tmp_path, who=recipient(unsubscribe="http://localhost:8040/u/1.abc"))
    assert b"List-Unsubscribe: <http://localhost:8040/u/1.abc>" in raw
    assert b"List-Unsubscribe-Post" not in raw


def test_very_long_url_moves_mailto_to_a_continuation_line(tmp_path: Path) -> None:
    url = "https://forum.example.org/u/" + "x" * 940
    raw = build(tmp_path, who=recipient(unsubscribe=url))
    lines = header_block(raw)
    index = next(i for i, x in enumerate(lines) if x.startswith("List-Unsubscribe:"))
    assert lines[index] == f"List-Unsubscribe: <{url}>,"
    assert lines[index + 1] == " <mailto:forum@example.org?subject=unsubscribe>"
    assert all(len(x) <= 998 for x in raw.split(b"\r\n"))
    assert parse(raw)["List-Unsubscribe"].startswith(f"<{url}>")


def test_subject_cannot_inject_headers(tmp_path: Path) -> None:
    raw = build(tmp_path, rendered("Weekly\r\nBcc: evil@example.com\nX-Evil: 1\x00"))
    lines = header_block(raw)
    assert not any(x.lower().startswith(("bcc:", "x-evil:")) for x in lines)
    message = parse(raw)
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Weekly Bcc: evil@example.com X-Evil: 1"


def test_name_cannot_inject_headers(tmp_path: Path) -> None:
    raw = build(tmp_path, who=recipient(name="Eve\r\nBcc: evil@example.com"))
    assert not any(x.lower().startswith("bcc:") for x in header_block(raw))
    assert parse(raw)["To"].addresses[0].display_name == "Eve Bcc: evil@example.com"


def test_required_headers(tmp_path: Path) -> None:
    raw = build(tmp_path)
    message = parse(raw)
    assert message["From"].addresses[0].display_name == "Social Affairs Forum"
    assert message["From"].addresses[0].addr_spec == "forum@example.org"
    assert message["To"].addresses[0].display_name == "Ben & Jerry"
    assert message["To"].addresses[0].addr_spec == "ben@example.org"
    assert message["Subject"] == "Social Affairs weekly #12"
    assert message["Date"].datetime == NOW
    assert "Date: Mon, 18 Mar 2019 08:00:00 +0100" in header_block(raw)
    assert message["MIME-Version"] == "1.0"
    assert message["Content-Language"] == "en"
    assert message["List-Id"] == "<weekly.forum.example.org>"
    assert re.fullmatch(r"<[0-9a-f]{40}@forum\.example\.org>", message["Message-ID"])
    assert message.get_content_type() == "multipart/alternative"
    assert all(len(x) <= 78 for x in header_block(raw) if not x.startswith("List-Unsub"))


def test_non_ascii_subject_and_names_are_encoded(tmp_path: Path) -> None:
    raw = build(tmp_path, rendered("Forum social — édition n°12 · 社会"),
                who=recipient(name="Zoë Ünal"), sender_name="Fórum Sociál")
    raw.decode("ascii")  # every byte is ASCII: RFC 2047 and quoted-printable did their job
    assert all(len(x) <= 78 for x in header_block(raw) if not x.startswith("List-Unsub"))
    message = parse(raw)
    assert message["Subject"] == "Forum social — édition n°12 · 社会"
    assert message["From"].addresses[0].display_name == "Fórum Sociál"
    assert message["To"].addresses[0].display_name == "Zoë Ünal"


def test_test_copy_is_marked(tmp_path: Path) -> None:
    assert parse(build(tmp_path, test=True))["Subject"] == "[TEST] Social Affairs weekly #12"


def test_bad_addresses_are_permanent_failures(tmp_path: Path) -> None:
    for address in ("not an address", "a@b.org\r\nBcc: x@y.org", "a@b.org, c@d.org",
                    "zoë@example.org", ""):
        with pytest.raises(PermanentFailure):
            build(tmp_path, who=recipient(address=address))


def test_idn_domain_becomes_punycode(tmp_path: Path) -> None:
    raw = build(tmp_path, who=recipient(address="anna@bücher.example"))
    assert parse(raw)["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.example"


# ------------------------------------------------------------------ bodies


def test_both_parts_decode_to_substituted_values(tmp_path: Path) -> None:
    message = parse(build(tmp_path))
    text_part, html_part = list(message.iter_parts())
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    assert text_part.get_content_charset() == "utf-8"
    assert html_part.get_content_charset() == "utf-8"
    assert text_part["Content-Transfer-Encoding"] == "quoted-printable"
    text = text_part.get_content()
    html = html_part.get_content()
    assert "Dear Ben & Jerry," in text
    assert f"Unsubscribe: {LONG_URL}" in text
    assert "Preferences: https://forum.example.org/digest/preferences/7.abc?x=1&y=2" in text
    assert "Sent to ben@example.org." in text
    assert "<p>Dear Ben &amp; Jerry,</p>" in html
    assert f'<a href="{LONG_URL}">Unsubscribe</a>' in html
    assert 'href="https://forum.example.org/digest/preferences/7.abc?x=1&amp;y=2"' in html
    for marker in PLACEHOLDERS.values():
        assert marker not in text and marker not in html


def test_hostile_name_is_escaped_in_html(tmp_path: Path) -> None:
    message = parse(build(tmp_path, who=recipient(name='<img src=x onerror="alert(1)">')))
    text_part, html_part = list(message.iter_parts())
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html_part.get_content()
    assert "<img" not in html_part.get_content()
    assert '<img src=x onerror="alert(1)">' in text_part.get_content()


def test_quoted_printable_lines_stay_within_76(tmp_path: Path) -> None:
    long_html = ("<td>" + "é" * 500 + " " * 3 + "</td>\n") * 5 + f"{N}{N}{U}"
    raw = build(tmp_path, rendered(html=long_html, text="x" * 300 + f"{N}\n\t \n"),
                who=recipient(name="Ğ" * 100))
    body = raw.split(b"\r\n\r\n", 1)[1]
    for line in body.split(b"\r\n"):
        assert len(line) <= 76, line
        assert not line.endswith((b" ", b"\t"))
    text_part, html_part = list(parse(raw).iter_parts())
    html = html_part.get_content().replace("\r\n", "\n")
    assert html.startswith(("<td>" + "é" * 500 + "   </td>\n") * 5)
    assert html.endswith("Ğ" * 200 + LONG_URL)
    assert text_part.get_content().replace("\r\n", "\n") == "x" * 300 + "Ğ" * 100 + "\n\t "


def test_substitution_matches_a_plain_replace_on_random_templates(tmp_path: Path) -> None:
    rng = random.Random(20190318)
    alphabet = list("abc xyz=.\n\t<>&\"'é€😀") + list(PLACEHOLDERS.values())
    who = recipient(name="Åsa <Öberg> & Co", unsubscribe="https://f.example.org/u/1.a_b-c")
    values = {U: who.unsubscribe_url, P: who.preferences_url, N: who.name, E: who.email}
    escaped = {k: v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
               .replace('"', "&quot;").replace("'", "&#x27;") for k, v in values.items()}
    for _ in range(60):
        template = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        raw = build(tmp_path, rendered(html=template, text=template), who=who)
        for line in raw.split(b"\r\n"):
            assert len(line) <= 998
        body = raw.split(b"\r\n\r\n", 1)[1]
        assert all(len(line) <= 76 for line in body.split(b"\r\n"))
        text_part, html_part = list(parse(raw).iter_parts())
        expected_text = expected_html = template
        for marker in PLACEHOLDERS.values():
            expected_text = expected_text.replace(marker, values[marker])
            expected_html = expected_html.replace(marker, escaped[marker])
        assert _decoded(text_part) == _normalise(expected_text)
        assert _decoded(html_part) == _normalise(expected_html)


def _decoded(part: Message) -> str:
    payload = part.get_payload()
    assert isinstance(payload, str)
    return quopri.decodestring(payload.encode("ascii")).decode("utf-8").replace("\r\n", "\n")


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text if text.endswith("\n") else text + "\n"
    return text[:-1]  # the last line break belongs to the MIME boundary


# ------------------------------------------------------------------ identity and reuse


def test_message_id_is_deterministic(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = make_message_id(settings, "weekly/12", "ben@example.org")
    assert first == make_message_id(settings, "weekly/12", "Ben@Example.org ")
    assert first != make_message_id(settings, "weekly/13", "ben@example.org")
    assert first != make_message_id(settings, "weekly/12", "ann@example.org")
    assert first.endswith("@forum.example.org>")
    assert build(tmp_path) == build(tmp_path)  # the same delivery gives the same bytes


def test_a_deliverys_message_id_cannot_be_worked_out_without_the_site_key(
        tmp_path: Path) -> None:
    """A bounce report naming a delivery's Message-ID changes its member: keyed with the
    site's secret, the id stays the same for a resend but nobody can compute it from the
    address and the edition alone."""
    settings = make_settings(tmp_path)
    key, other = b"k" * 32, b"o" * 32
    keyed = make_message_id(settings, "weekly/12", "ben@example.org", key)
    assert keyed == make_message_id(settings, "weekly/12", "Ben@Example.org", key)
    assert keyed != make_message_id(settings, "weekly/12", "ben@example.org")
    assert keyed != make_message_id(settings, "weekly/12", "ben@example.org", other)
    assert keyed.endswith("@forum.example.org>")


def test_one_factory_serves_many_recipients(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    factory = MessageFactory(rendered(), settings, "weekly.forum.example.org", NOW)
    seen = set()
    for n in range(50):
        who = recipient(name=f"Member {n}", address=f"m{n}@example.org",
                        unsubscribe=f"https://forum.example.org/u/{n}.sig")
        envelope = factory.build(who, make_message_id(settings, "weekly/12", who.email))
        message = parse(envelope.data)
        assert message["To"].addresses[0].addr_spec == f"m{n}@example.org"
        text_part = next(iter(message.iter_parts()))
        assert f"Dear Member {n}," in text_part.get_content()
        assert envelope.recipient == f"m{n}@example.org"
        seen.add(envelope.message_id)
    assert len(seen) == 50


def test_naive_date_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ValueError):
        MessageFactory(rendered(), settings, "weekly.x", datetime(2019, 3, 18))
    assert MessageFactory(rendered(), settings, "weekly.x", datetime(2019, 3, 18, tzinfo=UTC))


def test_clean_header_text() -> None:
    assert clean_header_text(" a\r\nb\tc\x00d\u2028e ") == "a b c d e"


@pytest.mark.parametrize("name", ["", "Ben", "Ana Maria Lopez", "O'Brien-Smith", "x" * 60,
                                  "Dr. Who", "Müller", "A, B", 'Say "hi"', "a" * 90,
                                  "Ben  Two", "tab\there"])
@pytest.mark.parametrize("address", ["ben@example.org", "Ben.Smith+tag@Mail.Example.ORG",
                                     "o'brien@example.org", "user@bücher.example",
                                     '"quoted local"@example.org', "a@b"])
def test_fast_header_paths_write_what_the_email_package_writes(name: str,
                                                               address: str) -> None:
    from digest.mail import message as m

    clean = m.clean_header_text(name)
    try:
        fast = m._mailbox(address)
    except PermanentFailure:
        fast = None
    slow_value = address.strip()
    m_simple = getattr(m, "SIMPLE_ADDRESS")  # noqa: B009 (imported there, not exported)
    setattr(m, "SIMPLE_ADDRESS", re.compile(r"(?!)"))  # noqa: B010 force the email package

    try:
        try:
            slow = m._mailbox(slow_value)
        except PermanentFailure:
            slow = None
    finally:
        setattr(m, "SIMPLE_ADDRESS", m_simple)  # noqa: B010
    assert fast == slow
    if fast is not None:
        assert m._to_header(clean, fast) == m._header("To", m._address_text(clean, fast))


def test_plain_values_are_cut_as_the_quoted_printable_encoder_cuts_them() -> None:
    """A value with nothing to encode skips ``quoprimime`` (most of the per-member cost);
    it must give the encoder's own bytes, at every length and wherever spaces fall."""
    from email import quoprimime

    from digest.mail import parts

    def encoder(text: str) -> bytes:
        encoded = quoprimime.body_encode(text.encode("utf-8").decode("latin-1"),
                                         parts.QP_LINE - 1, "\r\n")
        return (encoded if encoded.endswith("\r\n") else encoded + "=\r\n").encode("ascii")

    chance = random.Random(13)
    plain = 0
    for length in range(1, 320):
        for _ in range(12):
            letters = chance.choice(["xy z/.", "x=y z/.-?", "ab /:.-?=\té"])
            text = "".join(chance.choice(letters) for _ in range(length))
            plain += bool(parts._QP_PLAIN.fullmatch(text))
            assert parts.qp(text) == encoder(text), text
    assert plain > 1000  # the fast path was taken, often
