"""Transports hand an ``Envelope`` over: to an SMTP server, or to a folder of ``.eml`` files.

A transport says how a delivery went by what it does: it returns the server's answer (or
where the message went) once the message is accepted, raises ``TemporaryFailure`` when a
later retry may work (SMTP 4xx, connection, TLS or login trouble, a full disk) and
``PermanentFailure`` when the server refused this message or recipient for good (SMTP
5xx). The outbox records a delivery as sent only after a return, and as failed only on a
``PermanentFailure``; a problem of the whole session is a ``SessionFailure`` (temporary).

Modules: ``base`` (the ``Transport`` protocol), ``files`` (``FileTransport``), ``smtp``
(``SmtpTransport``, one connection), ``pool`` (``SmtpPool``, up to
``delivery.concurrency`` connections, one per sending thread); ``make_transport`` here
chooses among them from the configuration.
"""

from __future__ import annotations

from digest.config import Environment, Settings
from digest.errors import DeliveryError
from digest.mail.envelope import Envelope, PermanentFailure, SessionFailure, TemporaryFailure
from digest.mail.transports.base import Transport
from digest.mail.transports.files import FileTransport, eml_name
from digest.mail.transports.pool import SmtpPool
from digest.mail.transports.smtp import SmtpTransport

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
