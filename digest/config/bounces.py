"""The ``bounces:`` section: where delivery reports and complaints arrive, and what they do.

Exactly one mailbox: ``imap`` (``imap://user@host:port/INBOX`` or ``imaps://...``; the
password comes from ``DIGEST_BOUNCES_PASSWORD``, never from the file, so a URL with a
password is refused) or ``maildir`` (a folder with ``new/`` and ``cur/``). ``return_path``
turns on VERP: each message's envelope sender becomes ``local+<token>@domain``, so a bounce
names the very delivery it is about (docs/bounces.md).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from digest.config.addresses import deliverable_address
from digest.config.units import shown

# ``local+<id>-<16 hex>`` must fit the 64 characters of a local part (RFC 5321).
MAX_RETURN_PATH_LOCAL = 64 - len("+") - 19 - len("-") - 16


def _return_path(value: str) -> str:
    address = deliverable_address(value)
    local = address.rpartition("@")[0]
    if "+" in local:
        raise ValueError(f"{shown(value)}: the local part may not hold '+' (VERP adds "
                         "'+<token>' to it)")
    if len(local) > MAX_RETURN_PATH_LOCAL:
        raise ValueError(f"{shown(value)}: the local part is over {MAX_RETURN_PATH_LOCAL} "
                         "characters, too long to add a VERP token to")
    return address


class BounceSettings(BaseModel):
    """Where the bounce mailbox is and how many soft bounces in a row mark a member."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    imap: str | None = None
    maildir: str | None = None
    soft_limit: int = Field(default=3, ge=1, le=100, strict=True)
    return_path: Annotated[str, AfterValidator(_return_path)] | None = None
    # At most this many messages are read per run (the rest wait for the next one).
    max_messages: int = Field(default=500, ge=1, le=100_000, strict=True)

    @field_validator("imap")
    @classmethod
    def _imap_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("imap", "imaps"):
            raise ValueError(f"expected imap://user@host/INBOX or imaps://..., got "
                             f"{shown(value)}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"bad port in {shown(value)}") from None
        if parts.password is not None:
            raise ValueError("the password goes in DIGEST_BOUNCES_PASSWORD, not in the URL")
        if not parts.username or not parts.hostname:
            raise ValueError(f"expected a user and a host (imap://user@host/INBOX), got "
                             f"{shown(value)}")
        if port == 0:
            raise ValueError(f"bad port in {shown(value)}")
        if parts.query or parts.fragment:
            raise ValueError(f"a query or fragment has no meaning here: {shown(value)}")
        return value

    @model_validator(mode="after")
    def _one_mailbox(self) -> BounceSettings:
        if (self.imap is None) == (self.maildir is None):
            raise ValueError("give exactly one of `imap` (a URL) or `maildir` (a folder)")
        return self


class ImapAddress(BaseModel):
    """An ``imap:`` URL taken apart: what ``imaplib`` needs."""

    model_config = ConfigDict(frozen=True)

    tls: bool
    host: str
    port: int
    user: str
    folder: str

    @classmethod
    def parse(cls, url: str) -> ImapAddress:
        parts = urlsplit(url)
        tls = parts.scheme == "imaps"
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(tls=tls, host=parts.hostname or "", port=parts.port or (993 if tls else 143),
                   user=unquote(parts.username or ""), folder=folder)
