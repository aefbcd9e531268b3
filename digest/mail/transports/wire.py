"""The bytes an SMTP client writes for a message: envelope addresses in angle brackets and
the content dot-stuffed, as ``smtplib`` writes them, at a fraction of its cost per message
(its address parser and its regular expression over the whole content were most of a
send's CPU time: benchmarks/sending.py)."""

from __future__ import annotations

import re
import smtplib

from digest.mail.envelope import SIMPLE_ADDRESS

_LINE_START_DOT = re.compile(rb"(?m)^\.")


def quoted(address: str) -> str:
    """``smtplib.quoteaddr``: ``<address>``; a dot-atom address without its parser."""
    return f"<{address}>" if SIMPLE_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def stuffed(data: bytes, crlf: bool = False) -> bytes:
    """The content as DATA carries it before its final ``.``, byte for byte as smtplib
    sends it: lines starting with a dot doubled, a CRLF added at the end when missing.
    For a message known to end its lines with CRLF only (``Envelope.crlf``) that is one
    search and seldom a ``bytes.replace``; otherwise the line ends are checked first (two
    counts and a copy), and smtplib's own regular expression used if any is bare."""
    if not crlf and (data.count(b"\n") != data.count(b"\r\n")
                     or b"\r" in data.replace(b"\r\n", b"")):
        out = _LINE_START_DOT.sub(b"..", data)  # bare CR or LF: smtplib's own rule
    else:
        out = data.replace(b"\r\n.", b"\r\n..") if b"\n." in data else data
        if out.startswith(b"."):
            out = b"." + out
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out
