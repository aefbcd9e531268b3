"""Whether a database URL can be read the one way every reader reads it.

A PostgreSQL URL is split by several readers (this product's messages, SQLAlchemy,
libpq): a password holding an unencoded ``@`` or ``/`` is split differently by each, and
the driver's error then names a "host" that is the password's tail; a port that is not a
number made a traceback. Such a URL is refused before anything opens it, in words that
never repeat it (it holds the password).
"""

from __future__ import annotations

from urllib.parse import urlsplit

EXPECTED = "expected sqlite:///PATH or postgresql://..."


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a database URL, or None."""
    if not url.startswith(("sqlite:///", "postgresql://")):
        return EXPECTED
    if url.startswith("sqlite:///"):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
    except ValueError:
        return ("the postgresql:// URL's host or port cannot be read (the port is a number "
                "up to 65535, an IPv6 host is written in [brackets], a '/' in the user "
                "name or password is written %2F)")
    if parts.netloc.count("@") > 1:
        return "the postgresql:// URL's user name or password holds '@': write it %40"
    return None
