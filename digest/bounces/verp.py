"""A per-message return path (VERP): ``bounces+<delivery id>-<signature>@example.org``.

A bounce goes to the envelope sender, so when each message has its own, the bounce names
the delivery it is about whatever the remote server writes in its report. The signature
(HMAC-SHA256 with the site's secret, 16 hex digits) keeps anyone from marking members
bounced by mailing made-up addresses. Hex and digits only: some servers lower-case local
parts.
"""

from __future__ import annotations

import hmac
import re

from digest.keyed_hash import keyed_sha256

_VERSION = b"digest-verp-v1"
_TOKEN = re.compile(r"(0|[1-9][0-9]{0,18})-([0-9a-f]{16})")


def _signature(secret: bytes, delivery_id: int) -> str:
    message = _VERSION + b"\0" + str(delivery_id).encode("ascii")
    return keyed_sha256(secret, message).hex()[:16]


def verp_address(secret: bytes, delivery_id: int, return_path: str) -> str:
    """The envelope sender of one delivery: ``local+<id>-<signature>@domain``."""
    if isinstance(delivery_id, bool) or not 0 <= delivery_id < 10**19:
        raise ValueError(f"a delivery id is a non-negative integer, got {delivery_id!r}")
    local, _, domain = return_path.rpartition("@")
    return f"{local}+{delivery_id}-{_signature(secret, delivery_id)}@{domain}"


def _parts(address: str, return_path: str) -> str | None:
    """The token after ``+`` when ``address`` is ``local+token@domain`` of ``return_path``."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    base_local, _, base_domain = return_path.lower().rpartition("@")
    prefix, plus, token = local.partition("+")
    if not plus or prefix != base_local or domain != base_domain:
        return None
    return token


def is_verp_of(address: str, return_path: str) -> bool:
    """Whether ``address`` claims to be a VERP address of ``return_path`` (signed or not):
    a report carrying one with a bad signature is forged, never matched another way."""
    return _parts(address, return_path) is not None


def read_verp(secret: bytes, address: str, return_path: str) -> int | None:
    """The delivery id a VERP address of ``return_path`` names, or None (another address,
    a bad signature, anything malformed)."""
    token = _parts(address, return_path)
    if token is None:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    delivery_id = int(match.group(1))
    expected = _signature(secret, delivery_id)
    if not hmac.compare_digest(expected.encode("ascii"), match.group(2).encode("ascii")):
        return None
    return delivery_id
