"""Transports against a real in-process SMTP server (aiosmtpd) and a real folder."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.config import Environment, Settings
from digest.errors import DeliveryError
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.mail.transports import (
    Envelope,
    FileTransport,
    PermanentFailure,
    SessionFailure,
    SmtpPool,
    SmtpTransport,
    TemporaryFailure,
    eml_name,
    make_transport,
)
from digest.models import PLACEHOLDERS, RenderedEmail

NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)


# ------------------------------------------------------------------ a real SMTP server


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any


@dataclass
class Handler:
    """Accepts everything unless told otherwise; records what arrived and over which link."""

    messages: list[Received] = field(default_factory=list)
    rcpt_answers: dict[str, str] = field(default_factory=dict)
    data_answer: str | None = None
    mail_answers: list[str] = field(default_factory=list)  # answered once each, in order

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook names)
            self, server: Any, session: Any, envelope: Any, address: str,
            mail_options: list[str]) -> str:
        if self.mail_answers:
            return self.mail_answers.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
            self, server: Any, session: Any, envelope: Any, address: str,
            rcpt_options: list[str]) -> str:
        if address in self.rcpt_answers:
            return self.rcpt_answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook names)
            self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answer:
            return self.data_answer
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content, session.peer))
        return f"250 2.0.0 Ok: queued as Q{len(self.messages)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[Handler, Controller]]:
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller
    finally:
        controller.stop()


def settings_for(tmp_path: Path, transport: str = "file") -> Settings:
    return Settings.model_validate({
        "site": {
            "title": "Social Affairs Forum",
            "base_url": "https://forum.example.org/digest",
            "sender": {"name": "Social Affairs Forum", "address": "forum@example.org"},
            "output": str(tmp_path),
        },
        "delivery": {"transport": transport},
        "config_path": str(tmp_path / "schedules.yaml"),
    })


def envelope_for(tmp_path: Path, address: str = "ben@example.org",
                 edition: str = "weekly/12") -> Envelope:
    settings = settings_for(tmp_path)
    rendered = RenderedEmail(
        subject="Social Affairs weekly — n°12",
        preheader="",
        mjml="",
        html=f"<p>Dear {PLACEHOLDERS['name']}</p>\n.<p>a dot line</p>\n"
             f"<a href=\"{PLACEHOLDERS['unsubscribe_url']}\">Unsubscribe</a>",
        text=f"Dear {PLACEHOLDERS['name']}\n.\n..two dots\nUnsubscribe: "
             f"{PLACEHOLDERS['unsubscribe_url']}\n",
        language="en",
    )
    factory = MessageFactory(rendered, settings, make_list_id(settings, "weekly"), NOW)
    recipient = Recipient(address, "Ben", "https://forum.example.org/digest/u/1.sig",
                          "https://forum.example.org/digest/p/1.sig")
    return factory.build(recipient, make_message_id(settings, edition, address))


def smtp_url(controller: Controller) -> str:
    return f"smtp://{controller.hostname}:{controller.port}"


# ------------------------------------------------------------------ SMTP


def test_smtp_delivers_the_message_intact(tmp_path: Path,
                                          server: tuple[Handler, Controller]) -> None:
    handler, controller = server
    envelope = envelope_for(tmp_path)
    with SmtpTransport(smtp_url(controller)) as transport:
        answer = transport.send(envelope)
    assert answer == "250 2.0.0 Ok: queued as Q1"
    [received] = handler.messages
    assert received.mail_from == "forum@example.org"
    assert received.rcpt_tos == ["ben@example.org"]
    assert received.data == envelope.data  # dot-stuffing undone, bytes unchanged
    parsed = email.message_from_bytes(received.data, policy=policy.default)
    assert parsed["Message-ID"] == envelope.message_id
    assert parsed["Subject"] == "Social Affairs weekly — n°12"


def test_smtp_keeps_one_connection_across_sends(tmp_path: Path,
                                                server: tuple[Handler, Controller]) -> None:
    handler, controller = server
    transport = SmtpTransport(smtp_url(controller))
    try:
        for n in range(3):
            transport.send(envelope_for(tmp_path, f"m{n}@example.org"))
    finally:
        transport.close()
    assert len(handler.messages) == 3
    assert len({m.peer for m in handler.messages}) == 1
    transport.send(envelope_for(tmp_path, "again@example.org"))  # usable after close
    transport.close()
    assert len(handler.messages) == 4


def test_smtp_550_is_permanent_and_the_session_goes_on(
        tmp_path: Path, server: tuple[Handler, Controller]) -> None:
    handler, controller = server
    handler.rcpt_answers["gone@example.org"] = "550 5.1.1 <gone@example.org>: user unknown"
    with SmtpTransport(smtp_url(controller)) as transport:
        with pytest.raises(PermanentFailure) as caught:
            transport.send(envelope_for(tmp_path, "gone@example.org"))
        assert caught.value.code == 550
        assert "user unknown" in str(caught.value) and "550" in str(caught.value)
        assert isinstance(caught.value, DeliveryError)
        transport.send(envelope_for(tmp_path, "ok@example.org"))
    assert [m.rcpt_tos for m in handler.messages] == [["ok@example.org"]]
    assert len({m.peer for m in handler.messages}) == 1


def test_smtp_451_is_temporary(tmp_path: Path, server: tuple[Handler, Controller]) -> None:
    handler, controller = server
    handler.rcpt_answers["busy@example.org"] = "451 4.7.1 greylisted, try again later"
    with SmtpTransport(smtp_url(controller)) as transport, \
            pytest.raises(TemporaryFailure) as caught:
        transport.send(envelope_for(tmp_path, "busy@example.org"))
    assert caught.value.code == 451
    assert "greylisted" in str(caught.value)
    assert handler.messages == []


def test_smtp_refusal_after_data_is_classified(tmp_path: Path,
                                               server: tuple[Handler, Controller]) -> None:
    handler, controller = server
    with SmtpTransport(smtp_url(controller)) as transport:
        handler.data_answer = "554 5.7.1 message rejected as spam"
        with pytest.raises(PermanentFailure, match="rejected as spam"):
            transport.send(envelope_for(tmp_path))
        handler.data_answer = "452 4.3.1 insufficient system storage"
        with pytest.raises(TemporaryFailure, match="insufficient"):
            transport.send(envelope_for(tmp_path))
        handler.data_answer = None
        assert transport.send(envelope_for(tmp_path)).startswith("250 ")


def test_smtp_reconnects_once_when_the_server_closed_the_session(
        tmp_path: Path, server: tuple[Handler, Controller]) -> None:
    handler, controller = server
    with SmtpTransport(smtp_url(controller)) as transport:
        transport.send(envelope_for(tmp_path, "one@example.org"))
        handler.mail_answers.append("421 4.4.2 idle too long, closing")
        transport.send(envelope_for(tmp_path, "two@example.org"))
    assert [m.rcpt_tos for m in handler.messages] == [["one@example.org"], ["two@example.org"]]
    assert handler.messages[0].peer != handler.messages[1].peer


def test_smtp_reconnects_after_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    first, second = Handler(), Handler()
    controller = Controller(first, hostname="127.0.0.1", port=port)
    controller.start()
    transport = SmtpTransport(f"smtp://127.0.0.1:{port}")
    try:
        transport.send(envelope_for(tmp_path, "one@example.org"))
        controller.stop()
        controller = Controller(second, hostname="127.0.0.1", port=port)
        controller.start()
        transport.send(envelope_for(tmp_path, "two@example.org"))
    finally:
        transport.close()
        controller.stop()
    assert [m.rcpt_tos for m in first.messages] == [["one@example.org"]]
    assert [m.rcpt_tos for m in second.messages] == [["two@example.org"]]


def test_smtp_unreachable_server_is_a_session_failure(tmp_path: Path) -> None:
    transport = SmtpTransport(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with pytest.raises(SessionFailure, match="cannot connect"):
        transport.send(envelope_for(tmp_path))
    transport.close()


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and \
        (auth_data.login, auth_data.password) == (b"digest", b"s3cret")
    return AuthResult(success=ok, handled=False)  # let the server answer 535


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_and_refused_login(tmp_path: Path) -> None:
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            authenticator=_authenticator, auth_require_tls=False,
                            auth_required=True)
    controller.start()
    try:
        url = f"smtp://digest@127.0.0.1:{controller.port}"
        with SmtpTransport(url, "s3cret") as transport:
            transport.send(envelope_for(tmp_path))
        assert len(handler.messages) == 1
        with SmtpTransport(url, "wrong") as transport, \
                pytest.raises(SessionFailure, match="535"):
            transport.send(envelope_for(tmp_path))  # a wrong password is not the member's fault
    finally:
        controller.stop()
    assert len(handler.messages) == 1


def test_smtp_url_is_checked() -> None:
    for bad in ("http://mail.example.org", "smtp://", "smtp://host:notaport",
                "smtp://host?tls=1"):
        with pytest.raises(DeliveryError, match="DIGEST_SMTP_URL"):
            SmtpTransport(bad)
    with pytest.raises(DeliveryError, match="DIGEST_SMTP_PASSWORD"):
        SmtpTransport("smtp://user@mail.example.org:587?starttls=1")
    transport = SmtpTransport("smtp://us%40er@mail.example.org?starttls=1", "pw")
    assert (transport.host, transport.port, transport.starttls) == ("mail.example.org", 587, True)
    assert transport.username == "us@er"
    secure = SmtpTransport("smtps://mail.example.org", None)
    assert (secure.port, secure.implicit_tls) == (465, True)
    assert SmtpTransport("smtp://mail.example.org").port == 25


@pytest.mark.parametrize("bad", [
    "smtp://user:s3cret@[::1", "smtp://user:s3cret@[::1]:99999", "smtp://user:s3cr@t@[bad",
    "smtp://user:s3cret@host?starttls=maybe", "smtp://user:s3cret@host?starttls=tls",
    "smtp://user:s3cret@host?timeout=-1", "smtp://user:s3cret@host?timeout=nan",
    "smtp://user:s3cret@host?timeout=inf", "smtp://user:s3cret@host?timeout=0",
])
def test_an_odd_smtp_url_is_one_line_without_its_password(bad: str) -> None:
    """What ``urlsplit`` cannot read is refused like the rest (no ValueError traceback),
    and a ``starttls`` value that is not yes or no is refused: read as no, it would send
    the login in clear text."""
    with pytest.raises(DeliveryError, match=r"^DIGEST_SMTP_URL: ") as raised:
        SmtpTransport(bad)
    assert "s3cr" not in str(raised.value) and "user:***@" in str(raised.value)
    assert SmtpTransport("smtp://mail.example.org?starttls=on").starttls


# ------------------------------------------------------------------ files and the factory


def test_file_transport_writes_parseable_eml(tmp_path: Path) -> None:
    outbox = tmp_path / "out" / "outbox"
    envelope = envelope_for(tmp_path)
    where = FileTransport(outbox).send(envelope)
    path = Path(where)
    assert path.parent == outbox and path.suffix == ".eml"
    assert path.name == envelope.message_id.strip("<>") + ".eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == envelope.message_id
    assert parsed["To"] == "Ben <ben@example.org>"
    assert parsed["From"] == "Social Affairs Forum <forum@example.org>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    assert path.read_bytes() == envelope.data


def test_file_transport_is_idempotent_per_message_id(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    envelope = envelope_for(tmp_path / "x")
    transport.send(envelope)
    changed = Envelope(envelope.sender, envelope.recipient, envelope.message_id, b"new bytes")
    transport.send(changed)
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 1 and files[0].read_bytes() == b"new bytes"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    transport.send(envelope_for(tmp_path / "x", edition="weekly/13"))
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_eml_names_are_safe_and_distinct() -> None:
    assert eml_name("<abc@forum.example.org>") == "abc@forum.example.org.eml"
    odd = [eml_name(x) for x in ("<../../etc/passwd@x>", "<a/b@x>", "<a\\b@x>", "<>", "<.x@y>")]
    assert all("/" not in n and "\\" not in n and not n.startswith(".") for n in odd)
    assert len(set(odd)) == len(odd)


def test_file_transport_failure_is_temporary(tmp_path: Path) -> None:
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(TemporaryFailure):
        FileTransport(blocked).send(envelope_for(tmp_path))


def test_make_transport(tmp_path: Path) -> None:
    no_env = Environment(None, None, None, None, None)
    transport = make_transport(settings_for(tmp_path), no_env)
    assert isinstance(transport, FileTransport)
    assert transport.directory == tmp_path / "out" / "outbox"
    with pytest.raises(DeliveryError, match="DIGEST_SMTP_URL"):
        make_transport(settings_for(tmp_path, "smtp"), no_env)
    env = Environment(None, "smtp://digest@mail.example.org:587?starttls=1", "pw", None, None)
    pool = make_transport(settings_for(tmp_path, "smtp"), env)
    assert isinstance(pool, SmtpPool) and pool.size == 4  # delivery.concurrency
    smtp = pool.new_connection()
    assert (smtp.host, smtp.port, smtp.username, smtp.password) == \
        ("mail.example.org", 587, "digest", "pw")
    with pytest.raises(DeliveryError, match="DIGEST_SMTP_URL"):  # refused before any send
        make_transport(settings_for(tmp_path, "smtp"),
                       Environment(None, "smtp://host?tls=1", None, None, None))



@pytest.mark.parametrize("payload", [
    b".starts with a dot\r\n..two\r\n.\r\nend\r\n",
    b"Subject: x\r\n\r\nno final line break",
    b"Subject: x\n\nbare\n.dot\n",  # bare line ends: smtplib's own path
    b"Subject: x\r\n\r\nlone\rCR\r\n",
])
def test_data_arrives_as_smtplib_would_send_it(server: tuple[Handler, Controller],
                                               payload: bytes) -> None:
    import smtplib

    handler, controller = server
    with SmtpTransport(smtp_url(controller)) as transport:
        transport.send(Envelope("forum@example.org", "ben@example.org", "<a@b>", payload))
    with smtplib.SMTP(controller.hostname, controller.port) as reference:
        reference.sendmail("forum@example.org", ["ben@example.org"], payload)
    ours, theirs = (m.data for m in handler.messages)
    assert ours == theirs
    if payload.endswith(b"\r\n") and b"\r\n." in payload:
        assert ours == payload  # dot-stuffing undone by the server: bytes unchanged
