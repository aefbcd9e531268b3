"""Reading one report: hard and soft bounces (RFC 3464), complaints (RFC 5965), and every
other message refused with its reason, within bounds; the VERP return path."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.bounces.reports import MAX_PARTS, MAX_REPORT_BYTES, NotAReport, parse_report
from digest.bounces.verp import is_verp_of, read_verp, verp_address
from digest.config import load_settings
from digest.config.bounces import BounceSettings
from digest.errors import ConfigError
from tests.bounce_messages import arf, dsn

SECRET = b"s3cr3t-for-tests-0123456789abcdefghijklmnopqrstuvw"


def test_a_failed_5xx_report_is_a_hard_bounce_with_its_recipient_and_message_id() -> None:
    report = parse_report(dsn(recipient="Anna@Example.org"))
    assert report.kind == "hard"
    assert report.status == "5.1.1"
    assert report.recipient == "anna@example.org"
    assert report.message_id == "<original-1@forum.example.org>"
    assert "User unknown" in report.diagnostic
    assert report.detail.startswith("hard 5.1.1 smtp; 550 5.1.1")
    assert report.addressed_to == ("bounces@example.org",)


def test_a_4xx_failure_and_a_delay_are_soft() -> None:
    failed = parse_report(dsn(status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full"))
    delayed = parse_report(dsn(action="delayed", status="4.4.1",
                               diagnostic="X-Postfix; connect timed out"))
    assert (failed.kind, failed.status) == ("soft", "4.2.2")
    assert (delayed.kind, delayed.status) == ("soft", "4.4.1")


def test_the_original_message_in_full_names_its_message_id_too() -> None:
    report = parse_report(dsn(original="rfc822", original_message_id="<abc@forum.example.org>"))
    assert report.message_id == "<abc@forum.example.org>"


def test_a_report_is_keyed_by_its_own_message_id_so_a_copy_is_the_same_report() -> None:
    first = parse_report(dsn(report_id="<same@mx>"))
    again = parse_report(dsn(report_id="<same@mx>", status="5.2.1"))
    other = parse_report(dsn(report_id="<other@mx>"))
    assert first.key == again.key != other.key


def test_an_abuse_report_is_a_complaint_with_the_original_sender_as_verp_candidate() -> None:
    verp = "bounces+12-0123456789abcdef@example.org"
    report = parse_report(arf(mail_from=verp, recipient="bob@example.net",
                              original_message_id="<orig@forum.example.org>"))
    assert report.kind == "complaint"
    assert report.recipient == "bob@example.net"
    assert report.message_id == "<orig@forum.example.org>"
    assert verp in report.addressed_to
    assert report.detail == "complaint feedback abuse"


@pytest.mark.parametrize(("message", "reason"), [
    (b"From: a@b\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n",
     "not a delivery or abuse report (text/plain)"),
    (dsn(action="delivered", status="2.0.0"), "no failure (action: delivered)"),
    (arf(feedback_type="not-spam"), "of type 'not-spam', no complaint"),
    (dsn().replace(b"report-type=delivery-status", b"report-type=disposition-notification"),
     "neither delivery-status nor feedback-report"),
    (dsn().replace(b"Content-Type: message/delivery-status", b"Content-Type: text/plain"),
     "without its message/delivery-status part"),
    (b"\x00\xff" * 100, "not a delivery or abuse report"),
])
def test_anything_else_is_refused_with_its_reason(message: bytes, reason: str) -> None:
    with pytest.raises(NotAReport) as refused:
        parse_report(message)
    assert reason in str(refused.value)


def test_a_huge_message_is_refused_before_it_is_parsed() -> None:
    huge = dsn(extra_headers="X-Padding: " + "x" * MAX_REPORT_BYTES + "\r\n")
    with pytest.raises(NotAReport, match="over 1024 KB"):
        parse_report(huge)


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    for level in range(depth):
        body = (f"Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n"
                f"--b{level}\r\n").encode() + body + f"\r\n--b{level}--\r\n".encode()
    return b"MIME-Version: 1.0\r\n" + body


def test_deeply_nested_and_many_part_messages_are_refused() -> None:
    with pytest.raises(NotAReport, match="nested deeper than"):
        parse_report(_nested(40))
    parts = "".join("--M\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(MAX_PARTS + 5))
    many = ("MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            "report-type=delivery-status; boundary=\"M\"\r\n\r\n" + parts + "--M--\r\n")
    with pytest.raises(NotAReport, match=f"more than {MAX_PARTS} parts"):
        parse_report(many.encode())


def test_a_verp_address_names_its_delivery_and_nothing_else_does() -> None:
    address = verp_address(SECRET, 4711, "bounces@example.org")
    assert address.startswith("bounces+4711-") and address.endswith("@example.org")
    assert len(address.partition("@")[0]) <= 64
    assert read_verp(SECRET, address, "bounces@example.org") == 4711
    assert read_verp(SECRET, f"<{address.upper()}>", "bounces@example.org") == 4711
    forged = address.replace("4711-", "4712-")
    assert read_verp(SECRET, forged, "bounces@example.org") is None
    assert read_verp(b"another-secret-0123456789abcdefghijklmnop", address,
                     "bounces@example.org") is None
    assert read_verp(SECRET, address, "returns@example.org") is None
    assert read_verp(SECRET, "bounces@example.org", "bounces@example.org") is None
    assert read_verp(SECRET, "bounces+x-y@example.org", "bounces@example.org") is None
    # Each refused one that claims the return path is told apart (forged: never matched
    # another way); other addresses are not.
    for claims in (forged, "bounces+x-y@example.org", f"<{address.upper()}>"):
        assert is_verp_of(claims, "bounces@example.org")
    for other in ("bounces@example.org", "anna+x@example.org", "bounces+1@example.net"):
        assert not is_verp_of(other, "bounces@example.org")


@pytest.mark.parametrize(("values", "problem"), [
    ({}, "exactly one of `imap`"),
    ({"imap": "imap://u@h/INBOX", "maildir": "m"}, "exactly one of `imap`"),
    ({"imap": "imap://u:secret@h/INBOX"}, "DIGEST_BOUNCES_PASSWORD"),
    ({"imap": "pop3://u@h/"}, "expected imap://"),
    ({"imap": "imap://h/INBOX"}, "expected a user and a host"),
    ({"imap": "imap://u@h:99999/INBOX"}, "bad port"),
    ({"maildir": "m", "soft_limit": 0}, "greater than or equal to 1"),
    ({"maildir": "m", "return_path": "bounces+x@example.org"}, "may not hold '+'"),
    ({"maildir": "m", "return_path": "not an address"}, "must have an @-sign"),
])
def test_bad_bounce_settings_are_refused(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        BounceSettings.model_validate(values)
    assert problem in str(refused.value)


def test_the_config_file_locates_each_bad_bounce_value(project: Path) -> None:
    config = project / "schedules.yaml"
    shipped = config.read_text()
    config.write_text(shipped + "bounces:\n  imap: imap://bounces:pw@mail.example.org/INBOX\n"
                      "  soft_limit: many\n  return_path: bounces+x@example.org\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    problems = {p.key: (p.line, p.message) for p in caught.value.problems}
    lines = len(shipped.splitlines())
    assert problems["bounces.imap"][0] == lines + 2
    assert "DIGEST_BOUNCES_PASSWORD" in problems["bounces.imap"][1]
    assert problems["bounces.soft_limit"][0] == lines + 3
    assert problems["bounces.return_path"][0] == lines + 4
    config.write_text(shipped + "bounces: {maildir: var/bounces, soft_limit: 2}\n")
    assert load_settings(config).bounces == BounceSettings(maildir="var/bounces", soft_limit=2)


@pytest.mark.parametrize("message", [dsn(original="rfc822"), arf()], ids=["dsn", "arf"])
def test_a_cut_or_mangled_report_is_read_or_refused_never_an_error(message: bytes) -> None:
    """Whatever a mail server or an attacker makes of a report, the reader answers a
    ``Report`` or ``NotAReport``, so one message never stops the mailbox's others."""
    variants = [message[:cut] for cut in range(0, len(message), 37)]
    variants += [message.replace(b"\r\n", b"\n"), message.replace(b";", b"\x00"),
                 message.replace(b"Content-Type", b"Content-Type: x\r\nContent-Type"),
                 message.replace(b"boundary=", b"boundary*0*=utf-8''\xff\xfe")]
    kinds = set()
    for variant in variants:
        try:
            kinds.add(parse_report(variant).kind)
        except NotAReport as refused:
            assert str(refused).isprintable()  # one line of the run summary
    assert kinds  # the longer cuts still read as the report they are


def test_what_a_report_says_is_kept_as_printable_text() -> None:
    """The detail is stored (PostgreSQL refuses NUL) and shown in the console."""
    report = parse_report(dsn(diagnostic="smtp; 550 5.1.1 bad\x00user\x1b[31m",
                              original_message_id="<a\x00b@x>"))
    assert report.detail.isprintable() and "bad user" in report.detail
    assert report.message_id is None  # no printable Message-ID: matched otherwise
