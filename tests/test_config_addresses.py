"""A plain address is judged without email-validator, and exactly as email-validator would.

``deliverable_address`` skips the library (slow to import: issue 13) for an address it can
show the library accepts and returns unchanged; every other address goes to the library.
These tests compare both paths on thousands of addresses, valid and not, so a shortcut that
accepted one address the library refuses, or returned it otherwise, fails here.
"""

from __future__ import annotations

import random

import email_validator
import pytest

from digest.config.addresses import (
    SPECIAL_USE_TLDS,
    _is_plain,
    checked_address,
    deliverable_address,
)

# Pieces that make addresses near every edge of the shortcut: case, every atext symbol,
# dots, hyphens (``--`` and ``xn--``), digits at the end, special-use and long labels,
# quotes, brackets, spaces, non-ASCII (in the local part and the domain), and the RFC 2142
# mailbox names email-validator lowers.
LOCALS = ["a", "forum", "x.y", "first.last", "o'neil", "a+tag", "a_b", "a-b", "1", "Z",
          "Info", "info", "POSTMASTER", "postmaster", "abuse", ".a", "a.", "a..b", "a b",
          '"a"', '"a b"', "é", "ü.x", "a@b", "a<b", "", "!#$%&'*+/=?^_`{|}~-", "a\tb",
          "l" * 64, "l" * 65, "x" * 200, "(c)a", "a\\b", "ǅ", "ﬁ", "a\u0301"]
LABELS = ["example", "b", "x1", "1x", "xn--bcher-kva", "xn--abc", "ab--c", "a--b", "a-b",
          "-a", "a-", "0", "42", "Example", "EXAMPLE", "münchen", "ＥＸ", "a_b", "",
          "l" * 63, "l" * 64, "org", "com", "c0m", "co", "i", "test", "local", "localhost",
          "onion", "arpa", "invalid", "example", "Test", "LOCAL", "internal", "a.", "ß"]
TLDS = ["org", "com", "io", "x", "c1", "1", "test", "local", "localhost", "onion", "arpa",
        "invalid", "Org", "ORG", "xn--p1ai", "xn--zz", "рф", "a-b", "b-", "co--uk", "t3st",
        "l" * 63, "l" * 64, ""]
# Half of each address is made of these, so many addresses are plain, or nearly.
COMMON = {"local": ["a", "forum", "x.y", "a+tag", "o'neil", "1"],
          "label": ["example", "b", "x1", "a-b", "mail"], "tld": ["org", "com", "io", "x"]}


def _library(value: str) -> str | ValueError:
    """What email-validator alone says: the address it gives back, or its refusal."""
    try:
        return checked_address(value)
    except ValueError as exc:
        return exc


def _addresses(count: int, seed: int) -> list[str]:
    chance = random.Random(seed)

    def pick(kind: str, pieces: list[str]) -> str:
        return chance.choice(COMMON[kind] if chance.random() < 0.5 else pieces)

    found = []
    for _ in range(count):
        labels = [pick("label", LABELS) for _ in range(chance.choice((0, 1, 1, 2, 3)))]
        domain = ".".join([*labels, pick("tld", TLDS)])
        if chance.random() < 0.05:  # long domains, near 253 after the @
            domain = ".".join(["l" * 63] * chance.choice((3, 4)) + [domain])
        local = pick("local", LOCALS)
        if chance.random() < 0.1:
            local = ".".join(pick("local", LOCALS) for _ in range(chance.choice((2, 3))))
        address = f"{local}@{domain}"
        if chance.random() < 0.05:  # edits: a character in, out or changed anywhere
            place = chance.randrange(len(address) + 1)
            piece = chance.choice(["", ".", "-", "@", " ", "A", "\n", "é", "--", "\x00"])
            address = address[:place] + piece + address[place + chance.choice((0, 1)):]
        found.append(address)
    return found


EDGES = [
    "forum@example.org", "a@b.co", "a@b.c", "a@b.c1", "a@b.1c", "a@b", "a@.b.c", "a@b..c",
    "a@b.c.", "@b.c", "a@", "a@@b.c", "a@b@c.d", " a@b.c", "a@b.c ", "a@b.c\n",
    "a@[127.0.0.1]", "a@[IPv6:::1]", "A@b.c", "info@b.c", "Info@b.c", "a@B.c", "a@b.C",
    "a@localhost", "a@x.localhost", "a@x.test", "a@x.testing", "a@x.local", "a@x.arpa",
    "a@x.onion", "a@x.invalid", "a@xn--bcher-kva.example", "a@ab--c.example",
    "a@a--b.example", "a@xn--.example", "a@b.xn--p1ai",
    f"{'l' * 64}@b.co", f"{'l' * 240}@b.co", f"{'l' * 245}@b.co", f"{'l' * 250}@b.co",
    f"a@{'l' * 63}.co", f"a@{'l' * 64}.co", f"a@b.{'l' * 63}", f"a@b.{'l' * 64}",
    "a@" + ".".join(["l" * 63] * 3) + ".abcdefghi", "a@" + ".".join(["l" * 63] * 4) + ".co",
    "a@" + ".".join(["l" * 62] * 4) + ".c", "x" * 200 + "@" + "y" * 50 + ".co",
]


@pytest.mark.parametrize("seed", range(4))
def test_the_shortcut_agrees_with_email_validator(seed: int) -> None:
    """Every address the shortcut passes, email-validator accepts and returns unchanged;
    ``deliverable_address`` says what email-validator says for every address."""
    addresses = [*EDGES, *_addresses(5000, seed)]
    plain = 0
    for address in addresses:
        expected = _library(address)
        if _is_plain(address):
            plain += 1
            assert expected == address, f"{address!r}: shortcut passed it, library: {expected!r}"
        try:
            got: str | ValueError = deliverable_address(address)
        except ValueError as exc:
            got = exc
        if isinstance(expected, ValueError):
            assert isinstance(got, ValueError) and str(got) == str(expected), address
        else:
            assert got == expected, address
    assert plain > len(addresses) // 10, plain  # the shortcut is taken, so compared too


def test_special_use_domains_are_email_validators() -> None:
    """The shortcut's copy of the special-use names is the library's list, each one label
    (so a domain is one of them exactly when its last label is)."""
    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) == SPECIAL_USE_TLDS
    assert all("." not in name for name in SPECIAL_USE_TLDS)


@pytest.mark.parametrize("address", ["forum@example.org", "first.last@mail.example.co",
                                     "a+tag@b-c.d-e.io", "!#$%&'*+/=?^_`{|}~-@x.org"])
def test_plain_addresses_take_the_shortcut(address: str) -> None:
    assert _is_plain(address)


@pytest.mark.parametrize("address", ["Info@example.org", "a@Example.org", "a@b.test",
                                     "a@xn--bcher-kva.example", "é@example.org", "a@b.c1",
                                     "a@[127.0.0.1]", "a@b", "a..b@c.de"])
def test_other_addresses_go_to_email_validator(address: str) -> None:
    assert not _is_plain(address)
