"""Whether a URL's host is on the public internet, looked up before connecting to it.

The service runs inside someone's network: whoever controls a bulletin's images or a public
site's redirects must not make it fetch from that network (its loopback, private and
link-local addresses: the console, a database, a cloud's metadata service). The check
resolves the name, then the caller connects: a host whose DNS answer changes in between is
not caught (see docs/sources.md).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

AddressCheck = Callable[[str], "str | None"]
"""What is wrong with fetching a URL's host (None: nothing), before connecting to it."""


def public_address_problem(url: str) -> str | None:
    """Why ``url``'s host may not be fetched: it cannot be found, or one of its addresses
    is not a public one (loopback, private, link-local, reserved...)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return "has no host"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError, OSError):
        return f"its host {host!r} cannot be found"
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not ip.is_global:
            return f"its host {host!r} is at {ip}, not a public address"
    return None


def private_address_problem(url: str) -> str | None:
    """``public_address_problem`` when the host resolves to a non-public address; None
    when it is public or cannot be found (the fetch itself then fails, in its words)."""
    problem = public_address_problem(url)
    return problem if problem is not None and "not a public address" in problem else None
