"""One slug rule (``identifiers.SLUG``, ``identifiers.slugify``) for themes, digests,
bulletins and imported sources: letters and digits kept, the rest one hyphen."""

from __future__ import annotations

from digest.identifiers import SLUG, slugify


def test_slugify_keeps_letters_and_digits_and_joins_the_rest_with_hyphens() -> None:
    assert slugify("  WG SSI: 2019/03 ") == "wg-ssi-2019-03"
    assert slugify("café") == "caf"  # accents are not folded: stored slugs must not change
    assert slugify("--- !!") == ""
    assert SLUG.match(slugify("Any Title, at all"))


def test_a_slug_starts_with_a_letter_or_digit_and_is_lower_case() -> None:
    assert SLUG.match("wg-ssi-2019")
    assert not SLUG.match("-leading")
    assert not SLUG.match("Upper")
    assert not SLUG.match("")
