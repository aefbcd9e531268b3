"""How a member's or coordinator's address appears in a log line: never in clear.

Logs travel further than the store (journald, log shippers, a pasted bug report) and are
kept by other rules, so a line names an address only by a keyed hash of it under the
site's secret: the same address reads the same in every line (a run of refusals for one
address shows as such), yet a log alone cannot be turned back into addresses, not even by
hashing a list of known ones. A message from elsewhere (a mail server's refusal, an
exception) may quote the address too: ``scrubbed`` puts the same label in its place.
"""

from __future__ import annotations

import re

from digest.keyed_hash import keyed_sha256

LABEL_BYTES = 6  # 12 hex digits: enough to tell a site's addresses apart in its logs


def shown_address(secret: bytes, email: str) -> str:
    """``address #<12 hex digits>``: the label a log line gives ``email``."""
    key = email.strip().lower().encode("utf-8", "surrogatepass")
    return "address #" + keyed_sha256(secret, b"log-address\0" + key)[:LABEL_BYTES].hex()


def scrubbed(secret: bytes, text: str, email: str) -> str:
    """``text`` with every occurrence of ``email`` (in any case) replaced by its label."""
    needle = email.strip()
    if not needle:
        return text
    return re.sub(re.escape(needle), shown_address(secret, needle), text, flags=re.I)
