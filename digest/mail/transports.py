"""Transports hand an ``Envelope`` over: to an SMTP server, or to a folder of ``.eml`` files.

A transport says how a delivery went by what it does: it returns the server's answer (or
where the message went) once the message is accepted, raises ``TemporaryFailure`` when a
later retry may work (SMTP 4xx, connection, TLS or login trouble, a full disk) and
``PermanentFailure`` when the server refused this message or recipient for good (SMTP
5xx). The outbox records a delivery as sent only after a return, and as failed only on a
``PermanentFailure``.

Problems of the whole session (cannot connect, login refused, the sender address refused,
a 421 on a fresh connection) raise ``SessionFailure``, a temporary failure: they say nothing
about the recipient, marking every pending delivery failed because of a wrong password would
lose the edition, and the sender stops its batch at the first one instead of trying each row.

``SmtpPool`` keeps up to ``delivery.concurrency`` such connections, one per sending thread.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from digest.config import Environment, Settings
from digest.errors import DeliveryError
from digest.files import make_private_dir, write_atomic
from digest.mail.envelope import Envelope, PermanentFailure, SessionFailure, TemporaryFailure

__all__ = [
    "Envelope",
    "FileTransport",
    "PermanentFailure",
    "SessionFailure",
    "SmtpPool",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "eml_name",
    "make_transport",
]

# Answers that speak of the session (authentication), not of this message: retry later.
_SESSION_CODES = frozenset({421, 530, 534, 535, 538})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@+=-]")


class Transport(Protocol):
    """Something that delivers envelopes."""

    def send(self, envelope: Envelope) -> str:
        """Deliver one message; returns the server's answer or where the message went."""
        ...

    def close(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...


def make_transport(settings: Settings, env: Environment) -> Transport:
    """The transport the configuration asks for: files in ``out/outbox/`` or SMTP."""
    if settings.delivery.transport == "file":
        return FileTransport(settings.out_dir / "outbox")
    if not env.smtp_url:
        raise DeliveryError(
            "delivery.transport is smtp but DIGEST_SMTP_URL is not set "
            "(e.g. smtp://user@mail.example.org:587?starttls=1; password in DIGEST_SMTP_PASSWORD)"
        )
    url, password = env.smtp_url, env.smtp_password
    SmtpTransport(url, password)  # check the URL now: a bad one is refused before any send
    return SmtpPool(lambda: SmtpTransport(url, password), settings.delivery.concurrency)


# ------------------------------------------------------------------ files


def eml_name(message_id: str) -> str:
    """The file name of a message in the outbox, from its Message-ID only.

    Readable when the id is made of safe characters (``<abc@host>`` → ``abc@host.eml``);
    otherwise the unsafe characters are replaced and a digest of the full id is added, so
    two different ids never share a file.
    """
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    safe = _SAFE_NAME.sub("_", bare).lstrip(".")[:150]
    if safe != bare or not safe:
        safe = f"{safe}-{hashlib.sha256(message_id.encode()).hexdigest()[:16]}"
    return safe + ".eml"


class FileTransport:
    """Writes each message to ``<directory>/<name from Message-ID>.eml``, atomically.

    Sending the same Message-ID again replaces the file, so a retried delivery leaves one
    file, not two.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, envelope: Envelope) -> str:
        path = self.directory / eml_name(envelope.message_id)
        try:
            make_private_dir(self.directory)  # every member's address and links
            write_atomic(path, envelope.data, mode=0o600)
        except OSError as exc:
            raise TemporaryFailure(f"could not write {path}: {exc}") from exc
        return str(path)

    def close(self) -> None:
        """Nothing to release."""



# ------------------------------------------------------------------ SMTP


class SmtpTransport:
    """SMTP over one kept-open connection, reconnecting once if the server dropped it.

    ``url`` is ``smtp://[user@]host[:port][?starttls=1][&timeout=30]`` (port 25, or 587
    with STARTTLS) or ``smtps://[user@]host[:port]`` (TLS from the start, port 465). The
    password comes from ``password`` (``DIGEST_SMTP_PASSWORD``), else from the URL.
    One transport is one connection: sends from several threads are serialised.
    """

    def __init__(self, url: str, password: str | None = None, *,
                 ssl_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None) -> None:
        parts = urlsplit(url)
        options = parse_qs(parts.query)
        unknown = set(options) - {"starttls", "timeout"}
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname or unknown:
            problem = f"unknown option {sorted(unknown)[0]!r}" if unknown else "bad URL"
            raise DeliveryError(
                f"DIGEST_SMTP_URL: {problem}: expected smtp://[user@]host[:port][?starttls=1] "
                f"or smtps://[user@]host[:port], got {_redact(url)!r}"
            )
        try:
            port = parts.port
            timeout = float(options.get("timeout", ["30"])[-1])
        except ValueError as exc:
            raise DeliveryError(f"DIGEST_SMTP_URL: {exc} in {_redact(url)!r}") from None
        self.host = parts.hostname
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = options.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes")
        self.port = port or (465 if self.implicit_tls else 587 if self.starttls else 25)
        self.timeout = timeout
        self.username = unquote(parts.username) if parts.username else None
        self.password = password if password is not None else (
            unquote(parts.password) if parts.password else None)
        if self.username and self.password is None:
            raise DeliveryError(
                f"DIGEST_SMTP_URL names user {self.username!r} but DIGEST_SMTP_PASSWORD is not set"
            )
        self._context = ssl_context
        self._local_hostname = local_hostname
        self._connection: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    # -- the exchange

    def send(self, envelope: Envelope) -> str:
        with self._lock:
            reused = self._connection is not None
            try:
                return self._exchange(envelope)
            except _DroppedError as dropped:
                self._drop()
                if not (reused and dropped.before_data):
                    raise self._lost(dropped) from dropped.cause
            # The kept connection had gone stale before anything was committed: retry once.
            try:
                return self._exchange(envelope)
            except _DroppedError as dropped:
                self._drop()
                raise self._lost(dropped) from dropped.cause

    def _lost(self, dropped: _DroppedError) -> TemporaryFailure:
        """A fresh connection lost before DATA is the server refusing service (a session
        failure); lost during DATA, only this message is in doubt and will be retried."""
        what = f"{self.host}:{self.port}: connection lost: {dropped.cause}"
        return SessionFailure(what) if dropped.before_data else TemporaryFailure(what)

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            if connection is None:
                return
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                connection.close()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _exchange(self, envelope: Envelope) -> str:
        connection = self._connect()
        before_data = True
        code: int
        answer: bytes | str
        try:
            options = []
            if connection.does_esmtp and connection.has_extn("size"):
                options.append(f"SIZE={len(envelope.data)}")
            code, answer = connection.mail(envelope.sender, options)
            if code == 421:  # the server is closing the session (often an idle timeout)
                raise smtplib.SMTPServerDisconnected(f"{code} {_text(answer)}")
            if code != 250:  # the sender refused: every message would be, stop the batch
                self._refused(code, answer, f"sender {envelope.sender} refused", "mail")
            code, answer = connection.rcpt(envelope.recipient)
            if code == 421:
                raise smtplib.SMTPServerDisconnected(f"{code} {_text(answer)}")
            if code not in (250, 251):
                self._refused(code, answer, f"recipient {envelope.recipient} refused", "rcpt")
            before_data = False
            try:
                code, answer = _data(connection, envelope.data)
            except smtplib.SMTPDataError as exc:  # DATA itself was refused (no 354)
                code, answer = exc.smtp_code, exc.smtp_error
            if code != 250:
                self._refused(code, answer, "message refused", "data")
            return f"{code} {_text(answer)}"
        except (TemporaryFailure, PermanentFailure):
            raise
        except smtplib.SMTPServerDisconnected as exc:
            raise _DroppedError(exc, before_data) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _failure(exc.smtp_code, exc.smtp_error,
                           f"{self.host}:{self.port}: refused") from exc
        except ValueError as exc:  # an address with a line break: smtplib will not send it
            raise PermanentFailure(f"unusable envelope address: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise _DroppedError(exc, before_data) from exc

    def _refused(self, code: int, answer: bytes | str, what: str, stage: str) -> None:
        """Reset the transaction (or drop the session on 421) and raise the failure."""
        if code == 421:
            self._drop()
        else:
            try:
                assert self._connection is not None
                self._connection.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        failure = _failure(code, answer, f"{self.host}:{self.port}: {what}", stage)
        if stage == "mail":
            raise SessionFailure(str(failure), code, _text(answer))
        raise failure

    def _connect(self) -> smtplib.SMTP:
        """The open connection, or a new one; any trouble here is temporary."""
        if self._connection is not None:
            return self._connection
        try:
            connection = self._open()
        except smtplib.SMTPResponseException as exc:
            raise SessionFailure(
                f"{self.host}:{self.port}: session refused: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}", exc.smtp_code, _text(exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SessionFailure(f"{self.host}:{self.port}: cannot connect: {exc}") from exc
        self._connection = connection
        return connection

    def _open(self) -> smtplib.SMTP:
        context = self._context or ssl.create_default_context()
        connection: smtplib.SMTP
        if self.implicit_tls:
            connection = smtplib.SMTP_SSL(self.host, self.port, self._local_hostname,
                                          timeout=self.timeout, context=context)
        else:
            connection = smtplib.SMTP(self.host, self.port, self._local_hostname,
                                      timeout=self.timeout)
        try:
            connection.ehlo_or_helo_if_needed()
            if self.starttls:
                connection.starttls(context=context)
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class SmtpPool:
    """Up to ``size`` SMTP connections shared by the sending threads, opened on demand.

    Each ``send`` borrows an idle connection (or opens one while fewer than ``size`` exist,
    else waits for one to come back), so ``size`` threads send in parallel and each
    connection carries one message at a time. A connection that dropped reconnects by
    itself (``SmtpTransport``); ``close`` ends them all and the pool can be used again.
    """

    def __init__(self, connect: Callable[[], SmtpTransport], size: int) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one connection, got {size}")
        self.size = size
        self.new_connection = connect
        self._idle: list[SmtpTransport] = []
        self._all: list[SmtpTransport] = []
        self._available = threading.Condition()

    def send(self, envelope: Envelope) -> str:
        connection = self._borrow()
        try:
            return connection.send(envelope)
        finally:
            with self._available:
                kept = any(connection is known for known in self._all)
                if kept:
                    self._idle.append(connection)
                    self._available.notify()
            if not kept:  # the pool was closed while this one was busy
                connection.close()

    def _borrow(self) -> SmtpTransport:
        with self._available:
            while not self._idle and len(self._all) >= self.size:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            connection = self.new_connection()
            self._all.append(connection)
            return connection

    def close(self) -> None:
        with self._available:
            connections, self._all, self._idle = self._all, [], []
        for connection in connections:
            connection.close()


class _DroppedError(Exception):
    """The connection failed under us; ``before_data`` says whether a retry is safe."""

    def __init__(self, cause: BaseException, before_data: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.before_data = before_data


def _data(connection: smtplib.SMTP, data: bytes) -> tuple[int, bytes]:
    """``DATA`` with the message, as ``smtplib.SMTP.data`` sends it, but without its two
    regular-expression passes over the whole message when it has only CRLF line ends (as
    ``MessageFactory`` writes them): dot-stuffing is then one ``bytes.replace``. Those passes
    were most of a send's CPU time (benchmarks/delivery.py)."""
    if data.count(b"\n") != data.count(b"\r\n") or b"\r" in data.replace(b"\r\n", b""):
        return connection.data(data)  # bare CR or LF: let smtplib normalise them
    code, answer = connection.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, answer)
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    connection.send(stuffed + b".\r\n")
    return connection.getreply()


def _failure(code: int, answer: bytes | str, what: str, stage: str = "") -> DeliveryError:
    text = f"{code} {_text(answer)}"
    if 500 <= code < 600 and code not in _SESSION_CODES:
        return PermanentFailure(f"{what}: {text}", code, _text(answer), stage)
    return TemporaryFailure(f"{what}: {text}", code, _text(answer))


def _text(answer: bytes | str) -> str:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join(answer.split())


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()

