"""Where a config points the network: a host to bind and the addresses mail goes to or from.

Both are checked as the receiving software will read them, so a value that would bind every
interface or need SMTPUTF8 is refused in the file, at its line, instead of failing later.
"""

from __future__ import annotations

import ipaddress
import re

from email_validator import EmailNotValidError, validate_email

from digest.config.units import shown

_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def bindable_host(value: str) -> str:
    """A host name (RFC 1123 labels) or an IP address literal: what a socket can bind.

    ``ipaddress`` takes only the canonical forms (dotted quad for IPv4); a name whose last
    label is all digits is refused, since the resolver would read ``127.1``, ``0177.0.0.1``,
    ``2130706433`` or ``0`` (all interfaces!) as legacy IPv4 forms."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        labels = value.removesuffix(".").split(".")
        if (len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels)
                or labels[-1].isdigit()):
            raise ValueError(f"expected a host name or an IP address such as 127.0.0.1, "
                             f"got {shown(value)}") from None
    return value


def deliverable_address(value: str) -> str:
    """An address messages can be sent from or to: messages go without SMTPUTF8, so the part
    before the ``@`` must be ASCII; a non-ASCII domain is given in its ASCII (IDNA) form."""
    local = value.strip().rpartition("@")[0]
    if local and not local.isascii():
        raise ValueError("non-ASCII characters before the @ need SMTPUTF8, which this product "
                         "does not send with (use an ASCII address)")
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.ascii_email or checked.normalized
