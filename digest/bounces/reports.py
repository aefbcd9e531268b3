"""One report read from its bytes: a bounce (RFC 3464) or a complaint (RFC 5965), or why not.

A delivery status notification is ``multipart/report; report-type=delivery-status``: its
``message/delivery-status`` part has one block of per-message fields and one per recipient
(``Action``, ``Status``, ``Final-Recipient``, ``Original-Recipient``, ``Diagnostic-Code``).
``Action: failed`` with a ``5.x.x`` status is a hard bounce; a ``4.x.x`` status or
``Action: delayed`` is a soft one; ``delivered``, ``relayed`` and ``expanded`` are no
bounce. An abuse report is ``report-type=feedback-report`` with a ``Feedback-Type`` of
abuse, fraud, virus or other: a complaint. Either usually carries the original message
(``message/rfc822``) or its headers (``text/rfc822-headers``), whose Message-ID names the
delivery.

Every message is bounded before it is parsed (``MAX_REPORT_BYTES``), then in parts
(``MAX_PARTS``) and nesting (``MAX_DEPTH``); anything else, malformed or not a report, is
``NotAReport`` with a reason, so one bad message never stops the others.
"""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

MAX_REPORT_BYTES = 1024 * 1024
MAX_PARTS = 64
MAX_DEPTH = 6
DETAIL_CHARS = 500
HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})
# Headers of the report saying where it was delivered: the VERP address, if any.
_DELIVERED_TO = ("to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to",
                 "x-delivered-to")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,400}>")  # printable ASCII, as the outbox writes
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class NotAReport(Exception):  # noqa: N818 (says what the message is)
    """The message is no bounce or complaint this product can read; ``str`` says why."""


@dataclass(frozen=True)
class Report:
    """What a report says about one message the product sent."""

    key: str  # SHA-256 of the report's Message-ID (or of its bytes): read once
    kind: str  # hard | soft | complaint
    status: str  # "5.1.1", "4.2.2", "" for a complaint
    diagnostic: str  # the remote server's words, or the feedback type
    recipient: str  # Final-Recipient (or Original-Recipient, Original-Rcpt-To), lower case
    message_id: str | None  # the original message's Message-ID, with its < >
    addressed_to: tuple[str, ...]  # where the report was delivered (VERP candidates)

    @property
    def detail(self) -> str:
        """One line for the store and the console, bounded."""
        text = " ".join(part for part in (self.kind, self.status, self.diagnostic) if part)
        return _SPACES.sub(" ", text)[:DETAIL_CHARS]


def parse_report(data: bytes) -> Report:
    """Read one message; ``NotAReport`` with the reason when it is none (or too big).

    Nothing else escapes: a message from the internet that trips the parser in a way
    nobody foresaw is "malformed", and the next message is read all the same."""
    if len(data) > MAX_REPORT_BYTES:
        raise NotAReport(f"over {MAX_REPORT_BYTES // 1024} KB ({len(data)} bytes)")
    try:
        return _read(data)
    except NotAReport as refused:  # its reason may quote the message: one printable line
        raise NotAReport(_CONTROL.sub("?", str(refused))[:300]) from None
    except RecursionError:
        raise NotAReport(f"nested deeper than {MAX_DEPTH} parts") from None
    except Exception as exc:  # a message from the internet: see above
        reason = _CONTROL.sub("?", f"{type(exc).__name__}: {exc}")
        raise NotAReport(f"malformed message: {reason}"[:300]) from None


def _read(data: bytes) -> Report:
    message = email.message_from_bytes(data)
    parts = list(_parts(message))
    if message.get_content_type() != "multipart/report":
        raise NotAReport(f"not a delivery or abuse report ({message.get_content_type()})")
    report_type = (message.get_param("report-type") or "")
    report_type = report_type.lower() if isinstance(report_type, str) else ""
    key = _key(message, data)
    addressed = _addressed_to(message)
    original = _original_headers(parts)
    message_id = _message_id(original.get("message-id")) if original is not None else None
    if report_type == "delivery-status":
        return _bounce(parts, key, addressed, message_id, original)
    if report_type == "feedback-report":
        return _complaint(parts, key, addressed, message_id, original)
    raise NotAReport(f"a report of type {report_type or 'none'!r}, neither delivery-status "
                     "nor feedback-report")


def _parts(message: Message) -> Iterator[Message]:
    """Every part, depth first, refusing more than ``MAX_PARTS`` or ``MAX_DEPTH`` levels."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > MAX_PARTS:
            raise NotAReport(f"more than {MAX_PARTS} parts")
        if depth > MAX_DEPTH:
            raise NotAReport(f"nested deeper than {MAX_DEPTH} parts")
        yield part
        if part.get_content_type() == "message/delivery-status":
            continue  # its "parts" are header blocks, read by _bounce
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((child, depth + 1) for child in reversed(payload)
                             if isinstance(child, Message))


def _bounce(parts: list[Message], key: str, addressed: tuple[str, ...],
            message_id: str | None, original: Message | None) -> Report:
    status_part = next((p for p in parts if p.get_content_type() == "message/delivery-status"),
                       None)
    if status_part is None:
        raise NotAReport("a delivery-status report without its message/delivery-status part")
    blocks = _status_blocks(status_part)
    recipients = blocks[1:] if len(blocks) > 1 else blocks
    found: tuple[int, str, str, Message] | None = None
    for block in recipients:
        action = _text(block.get("action")).lower()
        status = _status(_text(block.get("status")))
        if action == "failed":
            rank, kind = (2, HARD) if not status.startswith("4") else (1, SOFT)
        elif action == "delayed":
            rank, kind = 1, SOFT
        else:
            continue
        if found is None or rank > found[0]:
            found = (rank, kind, status, block)
    if found is None:
        actions = sorted({_text(b.get("action")).lower() or "none" for b in recipients})
        raise NotAReport(f"a delivery report but no failure (action: {', '.join(actions)})")
    _, kind, status, block = found
    recipient = (_address(block.get("final-recipient"))
                 or _address(block.get("original-recipient"))
                 or (_address(original.get("to")) if original is not None else ""))
    return Report(key=key, kind=kind, status=status,
                  diagnostic=_text(block.get("diagnostic-code")), recipient=recipient,
                  message_id=message_id, addressed_to=addressed)


def _complaint(parts: list[Message], key: str, addressed: tuple[str, ...],
               message_id: str | None, original: Message | None) -> Report:
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"),
                    None)
    if feedback is None:
        raise NotAReport("a feedback report without its message/feedback-report part")
    fields = _fields(feedback)
    feedback_type = _text(fields.get("feedback-type")).lower()
    if feedback_type not in COMPLAINT_TYPES:
        raise NotAReport(f"a feedback report of type {feedback_type or 'none'!r}, no complaint")
    mail_from = _address(fields.get("original-mail-from"))
    return_path = _address(original.get("return-path")) if original is not None else ""
    recipient = (_address(fields.get("original-rcpt-to"))
                 or (_address(original.get("to")) if original is not None else ""))
    verp = tuple(a for a in (mail_from, return_path) if a)
    return Report(key=key, kind=COMPLAINT, status="", diagnostic=f"feedback {feedback_type}",
                  recipient=recipient, message_id=message_id, addressed_to=addressed + verp)


def _status_blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):  # a part the parser left as text
        return [email.message_from_string(chunk.strip() + "\n")
                for chunk in re.split(r"\r?\n\s*\r?\n", payload) if chunk.strip()]
    return []


def _fields(part: Message) -> Message:
    """The fields of a ``message/feedback-report`` part (kept as text by the parser)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text = payload if isinstance(payload, str) else ""
    return email.message_from_string(text.lstrip() + "\n")


def _original_headers(parts: list[Message]) -> Message | None:
    """The original message (``message/rfc822``) or its headers (``text/rfc822-headers``)."""
    for part in parts:
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                return email.message_from_bytes(text.lstrip() + b"\n\n")
    return None


def _addressed_to(message: Message) -> tuple[str, ...]:
    found: list[str] = []
    for name in _DELIVERED_TO:
        for value in message.get_all(name) or ():
            found += [address.lower() for _, address in getaddresses([_text(value)])
                      if "@" in address]
    return tuple(dict.fromkeys(found))


def _key(message: Message, data: bytes) -> str:
    message_id = _message_id(message.get("message-id"))
    seed = message_id.encode("utf-8", "replace") if message_id else data
    return hashlib.sha256(seed).hexdigest()


def _message_id(value: object) -> str | None:
    match = _MESSAGE_ID.search(_text(value))
    return match.group() if match else None


def _status(value: str) -> str:
    match = _STATUS.search(value)
    return match.group() if match else ""


def _address(value: object) -> str:
    """The address of a field such as ``rfc822; anna@example.org`` or ``<a@b>``."""
    text = _text(value)
    if ";" in text:
        text = text.split(";", 1)[1]
    addresses = [address for _, address in getaddresses([text.strip()]) if "@" in address]
    return addresses[0].strip().lower() if addresses else ""


def _text(value: object) -> str:
    """A header's value as one line of text (RFC 2047 decoded where possible)."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError):
        text = str(value)
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()[:2000]
