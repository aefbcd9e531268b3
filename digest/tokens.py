"""Signed per-member tokens for the unsubscribe and preferences links.

A token is ``<subscriber id>.<signature>``: the signature is HMAC-SHA256, keyed with the
site's secret, over a version tag, the purpose and the id, written in URL-safe base64
without padding. It cannot be forged without the secret, a token for one member says
nothing about another's (no enumeration), and an unsubscribe token does not work as a
preferences token. Tokens do not expire: a link in a years-old email still unsubscribes.

A confirmation link (double opt-in) is different: it must stop working after a while, so
its token, ``<id>.<expiry>.<signature>`` (``make_expiring_token``), also signs the moment
it expires (Unix seconds); ``read_expiring_token`` refuses it from then on. The id it
carries is the consent's the link confirms, not the member's.

The secret comes from ``DIGEST_SECRET_KEY`` when set, else from ``var/secret_key``, which is
created on first use (64 hex characters, mode 0600, written atomically so that two
processes starting at once agree on one key). The key is the file's text, so copying that
text into ``DIGEST_SECRET_KEY`` keeps every link already sent working. Either way a key
shorter than ``MIN_SECRET_BYTES``, with fewer than ``MIN_SECRET_DISTINCT`` different bytes
or (from the environment) not UTF-8 is refused (a weak key can be guessed, and with it every
member's links forged), and a key file others can read is made private again, with a
warning, since anyone who read it can forge links until the key is replaced. The key file
must be a regular file: a link, FIFO or device in its place is refused, never followed.
"""

from __future__ import annotations

import base64
import errno
import hmac
import logging
import os
import re
import secrets
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from digest.config import MIN_SECRET_BYTES, secret_key_problem
from digest.errors import DigestError
from digest.files import make_private_dir
from digest.keyed_hash import keyed_sha256
from digest.reading import NotRegularFileError, open_regular

__all__ = ["CONFIRM_LIFETIME", "MIN_SECRET_BYTES", "SECRET_FILE", "ExpiringPurpose",
           "Purpose", "load_or_create_secret", "make_expiring_token", "make_token",
           "read_expiring_token", "read_token", "secret_key_problem"]

Purpose = Literal["unsubscribe", "preferences"]
PURPOSES: frozenset[str] = frozenset({"unsubscribe", "preferences"})
ExpiringPurpose = Literal["confirm"]
EXPIRING_PURPOSES: frozenset[str] = frozenset({"confirm"})
CONFIRM_LIFETIME = timedelta(days=7)  # a confirmation link mailed today works for a week
SECRET_FILE = "secret_key"
MAX_SECRET_FILE_BYTES = 4096  # a key is 64 hex characters; nothing bigger is read
_VERSION = b"digest-token-v1"
_log = logging.getLogger("digest.tokens")
_TOKEN = re.compile(r"(0|[1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})")
_EXPIRING = re.compile(r"(0|[1-9][0-9]{0,18})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})")


def load_or_create_secret(var_dir: Path, env_value: str | None) -> bytes:
    """The signing key: ``env_value`` (``DIGEST_SECRET_KEY``) if given, else the key kept in
    ``var_dir/secret_key``, created (32 random bytes as hex, mode 0600) when absent."""
    if env_value is not None and env_value.strip():
        problem = secret_key_problem(env_value)
        if problem:
            raise DigestError(f"DIGEST_SECRET_KEY {problem}")
        return env_value.strip().encode("utf-8")  # checked above: no lone surrogates
    path = var_dir / SECRET_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    except UnicodeDecodeError:
        raise DigestError(f"the signing key {path} is not text (hex characters expected); "
                          "delete it to make a new one (links already sent will stop "
                          "working) or set DIGEST_SECRET_KEY") from None
    except OSError as exc:
        raise DigestError(f"cannot read the signing key {path}: {exc}") from exc
    try:
        _create_secret(path)
        return _read_secret(path)
    except OSError as exc:
        raise DigestError(f"cannot create the signing key {path}: {exc}") from exc


def make_token(secret: bytes, subscriber_id: int, purpose: Purpose) -> str:
    """A URL-safe token that proves ``purpose`` for the member ``subscriber_id``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if isinstance(subscriber_id, bool) or not isinstance(subscriber_id, int) \
            or not 0 <= subscriber_id < 10**19:
        raise ValueError(f"a subscriber id is a non-negative integer, got {subscriber_id!r}")
    return f"{subscriber_id}.{_signature(secret, subscriber_id, purpose)}"


def read_token(secret: bytes, token: str, purpose: Purpose) -> int | None:
    """The subscriber id a valid token for ``purpose`` names; None for anything else.

    Never raises: a malformed, truncated, tampered or wrong-purpose token is simply None.
    The signature is compared in constant time.
    """
    try:
        if purpose not in PURPOSES or not isinstance(token, str) or not secret:
            return None
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        subscriber_id = int(match.group(1))
        expected = _signature(secret, subscriber_id, purpose)
        if not hmac.compare_digest(expected.encode("ascii"), match.group(2).encode("ascii")):
            return None
        return subscriber_id
    except Exception:  # a link from the internet must never crash a page
        return None


def make_expiring_token(secret: bytes, record_id: int, purpose: ExpiringPurpose,
                        expires_at: datetime) -> str:
    """A URL-safe token proving ``purpose`` for ``record_id`` until ``expires_at`` (aware)."""
    if purpose not in EXPIRING_PURPOSES:
        raise ValueError(f"unknown expiring token purpose {purpose!r}")
    if isinstance(record_id, bool) or not isinstance(record_id, int) \
            or not 0 <= record_id < 10**19:
        raise ValueError(f"a record id is a non-negative integer, got {record_id!r}")
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise ValueError(f"an expiry needs a time zone: {expires_at.isoformat()}")
    expiry = int(expires_at.timestamp())
    if not 0 < expiry < 10**12:
        raise ValueError(f"an expiry out of range: {expires_at.isoformat()}")
    return f"{record_id}.{expiry}.{_signature(secret, record_id, purpose, expiry)}"


def read_expiring_token(secret: bytes, token: str, purpose: ExpiringPurpose,
                        now: datetime) -> int | None:
    """The id a valid, unexpired token for ``purpose`` names; None for anything else
    (malformed, tampered, another purpose, or ``now`` at or past its expiry). Never raises."""
    try:
        if purpose not in EXPIRING_PURPOSES or not isinstance(token, str) or not secret:
            return None
        match = _EXPIRING.fullmatch(token)
        if match is None:
            return None
        record_id, expiry = int(match.group(1)), int(match.group(2))
        expected = _signature(secret, record_id, purpose, expiry)
        if not hmac.compare_digest(expected.encode("ascii"), match.group(3).encode("ascii")):
            return None
        return record_id if now.timestamp() < expiry else None
    except Exception:  # a link from the internet must never crash a page
        return None


def _signature(secret: bytes, subscriber_id: int, purpose: str,
               expiry: int | None = None) -> str:
    if not secret:
        raise ValueError("the signing key is empty")
    parts = [_VERSION, purpose.encode("ascii"), str(subscriber_id).encode("ascii")]
    if expiry is not None:  # only expiring purposes: their names differ from the others'
        parts.append(str(expiry).encode("ascii"))
    message = b"\0".join(parts)
    digest = keyed_sha256(secret, message)  # signed per message sent
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _read_secret(path: Path) -> bytes:
    """The key in ``path``, read through the descriptor that was checked.

    The file is opened without following a link (``O_NOFOLLOW``: a link could point the
    permission repair at any file, even ``/dev/zero``) and without blocking (a FIFO would
    wait for a writer forever); only a regular file of at most ``MAX_SECRET_FILE_BYTES``
    is read, and its mode is repaired on the descriptor, never by path."""
    try:
        descriptor = open_regular(path, os.O_NOFOLLOW)
    except NotRegularFileError:
        raise _not_regular(path) from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR):
            raise _not_regular(path) from None
        raise
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if status.st_size > MAX_SECRET_FILE_BYTES:
            raise _too_large(path)
        _make_private(descriptor, status.st_mode, path)
        data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise _too_large(path)
    text = data.decode("ascii", errors="strict").strip()
    problem = secret_key_problem(text)
    if problem:
        raise DigestError(f"the signing key {path} {problem}; delete it to make a new one "
                          "(links already sent will stop working) or set DIGEST_SECRET_KEY")
    return text.encode("ascii")


def _not_regular(path: Path) -> DigestError:
    return DigestError(f"{path}: not a regular file (a link, a FIFO or a device); remove it")


def _too_large(path: Path) -> DigestError:
    return DigestError(f"the signing key {path} is over {MAX_SECRET_FILE_BYTES} bytes (a key "
                       "is 64 hex characters); delete it to make a new one or set "
                       "DIGEST_SECRET_KEY")


def _make_private(descriptor: int, mode: int, path: Path) -> None:
    """Take read and write access to the key file away from everyone but its owner."""
    if mode & 0o077:
        os.fchmod(descriptor, 0o600)
        _log.warning(
            "digest: warning: the signing key %s was readable by others (mode %s); it is "
            "now 0600. Anyone who read it can forge members' links: delete it to make a new "
            "one (links already sent stop working) if others may have read it.",
            path, oct(mode & 0o777)[2:])


def _create_secret(path: Path) -> None:
    """Write a new key atomically; if another process made one first, keep theirs."""
    make_private_dir(path.parent)
    fd, temp_name = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # fails if the key appeared meanwhile: theirs wins
        except FileExistsError:
            pass
        except OSError:
            # No hard links on this file system: fall back to an exclusive rename check.
            if not path.exists():
                temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)

