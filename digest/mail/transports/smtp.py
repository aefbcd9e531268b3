"""SMTP: one kept-open connection, its answers sorted into temporary and permanent failures.

Problems of the whole session (cannot connect, login refused, the sender address refused,
a 421 on a fresh connection) raise ``SessionFailure``, a temporary failure: they say nothing
about the recipient, marking every pending delivery failed because of a wrong password would
lose the edition, and the sender stops its batch at the first one instead of trying each row.
A 5xx answer about this message or recipient is a ``PermanentFailure``.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import threading
from functools import cache
from typing import NoReturn
from urllib.parse import parse_qs, unquote, urlsplit

from digest.errors import DeliveryError
from digest.mail.envelope import Envelope, PermanentFailure, SessionFailure, TemporaryFailure
from digest.mail.transports.wire import quoted, stuffed

# Answers that speak of the session (authentication), not of this message: retry later.
_SESSION_CODES = frozenset({421, 530, 534, 535, 538})


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
        try:  # an unclosed "[" of an IPv6 address raises in urlsplit already
            parts = urlsplit(url)
            options = parse_qs(parts.query)
            port, timeout = parts.port, float(options.get("timeout", ["30"])[-1])
            starttls = options.get("starttls", ["0"])[-1].lower()
            if not 0 < timeout < 3600 or starttls not in _YES + _NO:  # not nan, inf, -1...
                raise ValueError("starttls is 1 or 0, timeout seconds between 0 and 3600")
        except ValueError as exc:
            raise DeliveryError(f"DIGEST_SMTP_URL: {exc} in {_redact(url)!r}") from None
        unknown = set(options) - {"starttls", "timeout"}
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname or unknown:
            problem = f"unknown option {sorted(unknown)[0]!r}" if unknown else "bad URL"
            raise DeliveryError(
                f"DIGEST_SMTP_URL: {problem}: expected smtp://[user@]host[:port][?starttls=1] "
                f"or smtps://[user@]host[:port], got {_redact(url)!r}"
            )
        self.host = parts.hostname
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = starttls in _YES  # anything else was refused: never plain by a typo
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
        return self.stage(envelope).finish()

    def stage(self, envelope: Envelope) -> StagedMessage:
        """Everything of one message but its last line (MAIL, RCPT, DATA, the content):
        the server accepts nothing until ``finish`` sends the final ``.``, and
        ``abandon`` (closing the connection) makes it forget the message. The outbox
        stages a connection's next message while the previous one's record commits.
        The connection is this caller's until then; failures are raised as by ``send``."""
        self._lock.acquire()
        try:
            reused = self._connection is not None
            try:
                self._begin(envelope)
                return StagedMessage(self)
            except _DroppedError as dropped:
                self._drop()
                if not (reused and dropped.before_data):
                    raise self._lost(dropped) from dropped.cause
            # The kept connection had gone stale before anything was committed: retry once.
            try:
                self._begin(envelope)
                return StagedMessage(self)
            except _DroppedError as dropped:
                self._drop()
                raise self._lost(dropped) from dropped.cause
        except BaseException:
            self._lock.release()
            raise

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

    def _begin(self, envelope: Envelope) -> None:
        """MAIL, RCPT, DATA and the content without its final line (see ``stage``); the
        three commands in one write when the server offers PIPELINING (RFC 2920), which
        spares two round trips per message."""
        connection = self._connect()
        options = []
        if connection.does_esmtp and connection.has_extn("size"):
            options.append(f"SIZE={len(envelope.data)}")
        replies = None
        try:
            if (connection.has_extn("pipelining") and _plain(envelope.sender)
                    and _plain(envelope.recipient)):
                replies = _pipelined(connection, envelope, options)
            code, answer = replies.pop(0) if replies else connection.mail(envelope.sender,
                                                                          options)
            if code == 421:  # the server is closing the session (often an idle timeout)
                raise smtplib.SMTPServerDisconnected(f"{code} {_text(answer)}")
            if code != 250:  # the sender refused: every message would be, stop the batch
                _settle(connection, replies)
                self._refused(code, answer, f"sender {envelope.sender} refused", "mail")
            code, answer = replies.pop(0) if replies else connection.rcpt(envelope.recipient)
            if code == 421:
                raise smtplib.SMTPServerDisconnected(f"{code} {_text(answer)}")
            if code not in (250, 251):
                _settle(connection, replies)
                self._refused(code, answer, f"recipient {envelope.recipient} refused", "rcpt")
        except Exception as exc:
            self._reraise(exc, before_data=True)
        try:
            code, answer = replies.pop(0) if replies else connection.docmd("data")
            if code != 354:  # DATA itself was refused
                self._refused(code, answer, "message refused", "data")
            connection.send(envelope.wire if envelope.wire is not None
                            else stuffed(envelope.data))
        except Exception as exc:
            self._reraise(exc, before_data=False)

    def _end(self) -> str:
        """The final ``.`` of a staged message, and the server's verdict."""
        connection = self._connection
        if connection is None:
            raise _DroppedError(smtplib.SMTPServerDisconnected("not connected"), False)
        try:
            connection.send(b".\r\n")
            code, answer = connection.getreply()
            if code != 250:
                self._refused(code, answer, "message refused", "data")
        except Exception as exc:
            self._reraise(exc, before_data=False)
        return f"{code} {_text(answer)}"

    def _reraise(self, exc: Exception, before_data: bool) -> NoReturn:
        """Raise the server's trouble as this module's failures: a lost connection as
        ``_DroppedError`` (``before_data``: may the message be retried on a new one); this
        module's own failures and anything unknown as they are. (Not a context manager:
        entered three times per message, one cost a tenth of a send's CPU.)"""
        if isinstance(exc, (TemporaryFailure, PermanentFailure)):
            raise exc
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            raise _DroppedError(exc, before_data) from exc
        if isinstance(exc, smtplib.SMTPResponseException):
            self._drop()
            raise _failure(exc.smtp_code, exc.smtp_error,
                           f"{self.host}:{self.port}: refused") from exc
        if isinstance(exc, ValueError):  # an address with a line break: smtplib refuses it
            raise PermanentFailure(f"unusable envelope address: {exc}") from exc
        if isinstance(exc, (smtplib.SMTPException, OSError)):
            raise _DroppedError(exc, before_data) from exc
        raise exc

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
        connection: smtplib.SMTP
        if self.implicit_tls:
            connection = smtplib.SMTP_SSL(self.host, self.port, self._local_hostname,
                                          timeout=self.timeout,
                                          context=self._context or _system_tls())
        else:
            connection = smtplib.SMTP(self.host, self.port, self._local_hostname,
                                      timeout=self.timeout)
        try:
            # The final "." of a staged message is a small write after a large one: without
            # this, Nagle's algorithm holds it until the server's delayed ACK (~40 ms).
            if connection.sock is not None:
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.ehlo_or_helo_if_needed()
            if self.starttls:
                connection.starttls(context=self._context or _system_tls())
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


class _DroppedError(Exception):
    """The connection failed under us; ``before_data`` says whether a retry is safe."""

    def __init__(self, cause: BaseException, before_data: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.before_data = before_data


class StagedMessage:
    """A message handed over but its last line (``SmtpTransport.stage``): ``finish`` it
    (the server's 250 or a failure, as ``send``) or ``abandon`` it (nothing delivered)."""

    def __init__(self, transport: SmtpTransport) -> None:
        self._transport = transport
        self._open = True

    def finish(self) -> str:
        transport = self._transport
        try:
            return transport._end()
        except _DroppedError as dropped:
            transport._drop()
            raise transport._lost(dropped) from dropped.cause
        finally:
            self._release()

    def abandon(self) -> None:
        """Close the connection mid-message: the server discards what it got."""
        if self._open:
            self._transport._drop()
            self._release()

    def _release(self) -> None:
        if self._open:
            self._open = False
            self._transport._lock.release()


@cache
def _system_tls() -> ssl.SSLContext:
    """The system's certificates, read once per process and only for TLS: a context made
    per connection cost about 40 ms of CPU each (a worker's send job opens its connections
    again), a plain connection included, which never used it."""
    return ssl.create_default_context()


def _plain(address: str) -> bool:
    """An address smtplib would write as it is (else its own commands are used)."""
    return address.isascii() and "\r" not in address and "\n" not in address


def _pipelined(connection: smtplib.SMTP, envelope: Envelope,
               options: list[str]) -> list[tuple[int, bytes]]:
    """MAIL, RCPT and DATA in one write, and the server's three answers."""
    extra = "".join(f" {option}" for option in options)
    connection.send(f"mail FROM:{quoted(envelope.sender)}{extra}\r\n"
                    f"rcpt TO:{quoted(envelope.recipient)}\r\ndata\r\n")
    return [connection.getreply() for _ in range(3)]


def _settle(connection: smtplib.SMTP, replies: list[tuple[int, bytes]] | None) -> None:
    """After a refused MAIL or RCPT sent pipelined: should the server still have said 354
    to DATA, end that empty message so the session is back where RSET can follow."""
    if replies and replies[-1][0] == 354:
        connection.send(b".\r\n")
        connection.getreply()


def _failure(code: int, answer: bytes | str, what: str, stage: str = "") -> DeliveryError:
    text = f"{code} {_text(answer)}"
    if 500 <= code < 600 and code not in _SESSION_CODES:
        return PermanentFailure(f"{what}: {text}", code, _text(answer), stage)
    return TemporaryFailure(f"{what}: {text}", code, _text(answer))


def _text(answer: bytes | str) -> str:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join(answer.split())


_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _redact(url: str) -> str:
    """The URL without its password, even one ``urlsplit`` cannot read."""
    return re.sub(r"^([a-z]*://[^/:@]*):.*@", r"\1:***@", url, flags=re.IGNORECASE)
