"""What a lookup may ask the store for, checked before a value from outside (an address in
a URL, a search, a command's argument) reaches a query.

PostgreSQL's ``INTEGER`` columns (row ids, edition numbers) hold 32-bit values and SQLite's
64-bit ones: a larger number names no row, but asking for it is an error in either
(PostgreSQL's ``integer out of range``, the SQLite driver's ``OverflowError``). PostgreSQL
refuses a NUL in any text, and no stored name, address or key holds a control character.
Lookups check here and find nothing, so such a value is "not found", never a crash.
"""

from __future__ import annotations

import re

MAX_INTEGER = 2**31 - 1  # the smaller of the two databases' integer columns
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def fits_integer(value: int) -> bool:
    """Whether ``value`` fits every integer column of the store."""
    return -MAX_INTEGER - 1 <= value <= MAX_INTEGER


def plain_text(value: str) -> bool:
    """Whether ``value`` holds no control character (NUL, line breaks, DEL...)."""
    return _CONTROL.search(value) is None
