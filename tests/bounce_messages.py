"""Bounce and complaint messages as mail servers write them, for the bounce tests.

``dsn`` writes a Postfix-style delivery status notification (RFC 3464) and ``arf`` an abuse
report (RFC 5965) as a mailbox provider's feedback loop sends it; both can carry the
original message's headers, so its Message-ID names the delivery.
"""

from __future__ import annotations

import itertools

_COUNTER = itertools.count(1)


def _report_id() -> str:
    return f"<report-{next(_COUNTER)}@mx.example.net>"


def dsn(*, to: str = "bounces@example.org", recipient: str = "anna@example.org",
        action: str = "failed", status: str = "5.1.1",
        diagnostic: str = "smtp; 550 5.1.1 <anna@example.org>: Recipient address rejected: "
                          "User unknown in virtual mailbox table",
        original_message_id: str | None = "<original-1@forum.example.org>",
        original: str = "rfc822-headers", report_id: str | None = None,
        extra_headers: str = "") -> bytes:
    """A ``multipart/report; report-type=delivery-status`` as Postfix sends it."""
    report_id = report_id or _report_id()
    headers = ("From: forum@example.org\r\nTo: " + recipient + "\r\nSubject: Weekly 12\r\n"
               + (f"Message-ID: {original_message_id}\r\n" if original_message_id else ""))
    if original == "rfc822":
        original_part = ("Content-Type: message/rfc822\r\n\r\n" + headers
                         + "Content-Type: text/plain\r\n\r\nThe digest.\r\n")
    else:
        original_part = "Content-Type: text/rfc822-headers\r\n\r\n" + headers
    text = f"""Return-Path: <>\r
Delivered-To: {to}\r
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r
To: {to}\r
Subject: Undelivered Mail Returned to Sender\r
Message-ID: {report_id}\r
Date: Mon, 18 Mar 2019 09:00:00 +0100\r
{extra_headers}MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status;\r
 boundary="BOUNDARY"\r
\r
--BOUNDARY\r
Content-Type: text/plain; charset=us-ascii\r
\r
This is the mail system at host mx.example.net. Your message could not be delivered.\r
\r
--BOUNDARY\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.example.net\r
X-Postfix-Queue-ID: 4B2C81C0\r
Arrival-Date: Mon, 18 Mar 2019 08:59:58 +0100\r
\r
Final-Recipient: rfc822; {recipient}\r
Original-Recipient: rfc822;{recipient}\r
Action: {action}\r
Status: {status}\r
Remote-MTA: dns; mail.example.org\r
Diagnostic-Code: {diagnostic}\r
\r
--BOUNDARY\r
{original_part}\r
--BOUNDARY--\r
"""
    return text.encode("ascii")


def arf(*, to: str = "abuse-reports@example.org", recipient: str = "anna@example.org",
        feedback_type: str = "abuse", mail_from: str = "forum@example.org",
        original_message_id: str | None = "<original-1@forum.example.org>",
        report_id: str | None = None) -> bytes:
    """A ``multipart/report; report-type=feedback-report`` (RFC 5965) with the original."""
    report_id = report_id or _report_id()
    message_id = f"Message-ID: {original_message_id}\r\n" if original_message_id else ""
    text = f"""From: feedback-loop@isp.example.net\r
To: {to}\r
Subject: FW: Weekly 12\r
Message-ID: {report_id}\r
Date: Mon, 18 Mar 2019 10:00:00 +0100\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report;\r
 boundary="ARF"\r
\r
--ARF\r
Content-Type: text/plain; charset="US-ASCII"\r
\r
This is an email abuse report for an email message received from IP 192.0.2.1.\r
\r
--ARF\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: {feedback_type}\r
User-Agent: SomeGenerator/1.0\r
Version: 1\r
Original-Mail-From: <{mail_from}>\r
Original-Rcpt-To: <{recipient}>\r
Arrival-Date: Mon, 18 Mar 2019 09:00:00 +0100\r
Source-IP: 192.0.2.1\r
\r
--ARF\r
Content-Type: message/rfc822\r
Content-Disposition: inline\r
\r
Return-Path: <{mail_from}>\r
From: forum@example.org\r
To: {recipient}\r
Subject: Weekly 12\r
{message_id}\r
The digest.\r
--ARF--\r
"""
    return text.encode("ascii")
