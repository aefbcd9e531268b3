"""Reading a file upload of the console (the members' CSV): its CSRF token first.

A form that posts a file is multipart, which the console's bounded form reader does not
take. The upload form puts its hidden ``csrf`` field before the file (browsers send the
fields in the form's order), and this reader parses the body as it arrives: the first part
must be ``csrf`` (at most ``MAX_SMALL_PART`` bytes), checked when it ends, before a byte of
the file is kept. A body without it, or with a wrong one, is refused having read only its
start. The token never travels in a URL, where browser history, proxy logs and
``Referer`` headers would keep it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from enum import Enum

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

MAX_SMALL_PART = 1024  # the token, a button's value: anything but the file
MAX_PARTS = 4


class Refused(Enum):
    """Why an upload was not taken: ``FORBIDDEN`` (no valid token first: 403),
    ``NOT_A_FORM`` (not a readable multipart form: 400), ``NO_FILE`` (no file chosen: 400)."""

    FORBIDDEN = "forbidden"
    NOT_A_FORM = "not a form"
    NO_FILE = "no file"


@dataclass(frozen=True)
class Sent:
    """The uploaded file: its name as sent, and its bytes (at most the limit plus one, so
    a caller sees that it was too big)."""

    name: str
    data: bytes


@dataclass
class _Reading:
    """The parser's state, part by part."""

    csrf: str
    max_bytes: int
    parts: int = 0
    header: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    buffer: bytearray = field(default_factory=bytearray)
    checked: bool = False
    refused: Refused | None = None
    sent: Sent | None = None

    def refuse(self, why: Refused) -> None:
        self.refused = self.refused or why

    def begin(self) -> None:
        self.parts += 1
        self.headers, self.buffer = {}, bytearray()
        if self.parts > MAX_PARTS:
            self.refuse(Refused.NOT_A_FORM)

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        key = self.header.lower()
        self.headers[key] = self.headers.get(key, b"") + data[start:end]

    def header_end(self) -> None:
        self.header = b""

    def headers_done(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw = options.get(b"filename")
        self.filename = None if raw is None else raw.decode("utf-8", "replace")
        if self.parts == 1 and (self.name != "csrf" or self.filename is not None):
            self.refuse(Refused.FORBIDDEN)  # the token must come first

    def data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        room = (self.max_bytes + 1 if self.filename is not None else MAX_SMALL_PART
                ) - len(self.buffer)
        if len(chunk) > room:
            if self.filename is None:  # a token or field too long: no form of ours
                self.refuse(Refused.FORBIDDEN if self.parts == 1 else Refused.NOT_A_FORM)
            chunk = chunk[:room]  # a file: one byte over says it is too big
        self.buffer += chunk

    def end(self) -> None:
        if self.parts == 1:
            sent = bytes(self.buffer).decode("utf-8", "replace")
            if not hmac.compare_digest(sent.encode(), self.csrf.encode()):
                self.refuse(Refused.FORBIDDEN)
            self.checked = True
        elif self.name == "file" and self.filename and self.sent is None:
            self.sent = Sent(self.filename, bytes(self.buffer))
        self.buffer = bytearray()


async def read_upload(request: Request, csrf: str, max_bytes: int) -> Sent | Refused:
    """The file of a multipart form whose first field is ``csrf`` equal to ``csrf``."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        return Refused.NOT_A_FORM
    reading = _Reading(csrf, max_bytes)
    parser = MultipartParser(boundary, callbacks={
        "on_part_begin": reading.begin, "on_part_data": reading.data,
        "on_part_end": reading.end, "on_header_field": reading.header_field,
        "on_header_value": reading.header_value, "on_header_end": reading.header_end,
        "on_headers_finished": reading.headers_done})
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if reading.refused is not None:
                return reading.refused  # the rest of the body is never read
        parser.finalize()
    except (MultipartParseError, ValueError):
        return Refused.FORBIDDEN if not reading.checked else Refused.NOT_A_FORM
    if not reading.checked:
        return Refused.FORBIDDEN
    return reading.sent or Refused.NO_FILE
