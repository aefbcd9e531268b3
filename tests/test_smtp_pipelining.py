"""SMTP PIPELINING (RFC 2920): when the server offers it, MAIL, RCPT and DATA go in one
write; each answer must still be read as its own command's, and a refusal must leave the
connection usable, as without pipelining."""

from __future__ import annotations

from typing import Any

import pytest

from digest.mail.envelope import Envelope, PermanentFailure, SessionFailure, TemporaryFailure
from digest.mail.transports import SmtpTransport
from tests.mail_server import FaultyHandler, smtp_server


class _Pipelining(FaultyHandler):
    """The faulty server, offering PIPELINING (aiosmtpd reads pipelined commands as they
    come but does not say so by itself)."""

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
            self, server: Any, session: Any, envelope: Any, hostname: str,
            responses: list[str]) -> list[str]:
        found = await super().handle_EHLO(server, session, envelope, hostname, responses)
        return [found[0], "250-PIPELINING", *found[1:]]


def test_pipelined_commands_keep_the_answers_apart() -> None:
    handler = _Pipelining(rcpt_answers={
        "member001@example.org": "550 5.1.1 <member001@example.org>: User unknown",
        "member002@example.org": "451 4.3.0 try later"})
    with smtp_server(handler) as (_, url):
        transport = SmtpTransport(url)
        try:
            assert transport.send(_envelope("member000@example.org")).startswith("250")
            with pytest.raises(PermanentFailure) as refused:
                transport.send(_envelope("member001@example.org"))
            assert refused.value.stage == "rcpt" and refused.value.code == 550
            with pytest.raises(TemporaryFailure, match="451"):
                transport.send(_envelope("member002@example.org"))
            assert transport.send(_envelope("member003@example.org")).startswith("250")
            handler.mail_answer = "553 5.7.1 sender not allowed"
            with pytest.raises(SessionFailure, match="553"):
                transport.send(_envelope("member004@example.org"))
        finally:
            transport.close()
    assert handler.recipients() == ["member000@example.org", "member003@example.org"]
    assert handler.sessions == 1  # one connection throughout: each refusal left it usable


def _envelope(recipient: str) -> Envelope:
    return Envelope("forum@example.org", recipient, f"<{recipient}>",
                    f"Message-ID: <{recipient}>\r\nSubject: x\r\n\r\n.dot\r\nbody\r\n".encode())
