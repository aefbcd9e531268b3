"""The bytes an SMTP client writes for a message: envelope addresses in angle brackets and
the content dot-stuffed, as ``smtplib`` writes them, at a fraction of its cost per message
(its address parser and its regular expression over the whole content were most of a
send's CPU time: benchmarks/sending.py). Only a message without ``Envelope.wire`` is
stuffed here; the factory's messages come stuffed."""

from __future__ import annotations

import re
import smtplib

from digest.mail.envelope import SIMPLE_ADDRESS, dot_stuffed

_LINE_START_DOT = re.compile(rb"(?m)^\.")


def quoted(address: str) -> str:
    """``smtplib.quoteaddr``: ``<address>``; a dot-atom address without its parser."""
    return f"<{address}>" if SIMPLE_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def stuffed(data: bytes) -> bytes:
    """The content as DATA carries it before its final ``.``, byte for byte as smtplib
    sends it: lines starting with a dot doubled, a CRLF added at the end when missing.
    With CRLF line ends only that is ``dot_stuffed``; with a bare CR or LF anywhere,
    smtplib's own regular expression (it takes those for line ends too)."""
    if data.count(b"\n") != data.count(b"\r\n") or b"\r" in data.replace(b"\r\n", b""):
        out = _LINE_START_DOT.sub(b"..", data)
    else:
        out = dot_stuffed(data)
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out
