"""Where a config points the network: a host to bind and the addresses mail goes to or from.

Both are checked as the receiving software will read them, so a value that would bind every
interface or need SMTPUTF8 is refused in the file, at its line, instead of failing later.

An address is checked by email-validator, imported only for an address that is not plain:
its import compiles tens of regular expressions, which every command would pay for at
start-up (issue 13) while nearly every address is a lower-case ``local@domain.tld``. A plain
address is one email-validator accepts and returns unchanged, for a reason it can be shown
to have (``_is_plain``); tests/test_config_addresses.py compares both on many addresses.
"""

from __future__ import annotations

import ipaddress
import re

from digest.config.units import shown

_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# A plain address: a dot-atom of RFC 5322 (ASCII, no upper case, so no mailbox name of RFC
# 2142 for email-validator to lower), then host labels of at most 63 characters in lower
# case (UTS #46 leaves them as they are), the last ending with a letter.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[a-z0-9][a-z0-9-]{{0,61}})?[a-z]",
                    re.ASCII)
# email-validator's special-use domains (its SPECIAL_USE_DOMAIN_NAMES: one label each, so a
# domain is one of them when its last label is), refused there; a test keeps both the same.
SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


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
    if _is_plain(value):
        return value
    return checked_address(value)


def _is_plain(value: str) -> bool:
    """Whether email-validator would accept ``value`` and return it unchanged: a plain
    address (``_PLAIN``) within its lengths (254 in all, 253 after the ``@``), with no
    ``--`` after the ``@`` (it refuses ``ab--c``, and decodes ``xn--`` labels), outside the
    special-use domains. Anything else is for email-validator to judge and word."""
    if len(value) > 254 or not _PLAIN.fullmatch(value):
        return False
    domain = value.rpartition("@")[2]
    return (len(domain) <= 253 and "--" not in domain
            and domain.rpartition(".")[2] not in SPECIAL_USE_TLDS)


def checked_address(value: str) -> str:
    """``deliverable_address`` by email-validator alone, for any address."""
    from email_validator import EmailNotValidError, validate_email

    local = value.strip().rpartition("@")[0]
    if local and not local.isascii():
        raise ValueError("non-ASCII characters before the @ need SMTPUTF8, which this product "
                         "does not send with (use an ASCII address)")
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.ascii_email or checked.normalized
