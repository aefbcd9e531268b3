"""Cleaned HTML never nests deeper than a reader needs, whatever a hostile item sends."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from digest.render.pdf import render_edition_pdf
from digest.safetext import MAX_DEPTH, limit_depth
from digest.sources.clean import ALLOWED_TAGS, sanitize_html
from tests.support import ALL_ITEMS, LINKS, make_edition, make_settings

_TAG = re.compile(r'<(/?)([a-z0-9]+)(?:[^>"]|"[^"]*")*>')
_VOID = {"br", "img"}


def depth_of(html: str) -> int:
    deepest, stack = 0, list[str]()
    for tag in _TAG.finditer(html):
        if tag.group(2) in _VOID:
            continue
        if tag.group(1):
            assert stack and stack.pop() == tag.group(2), f"unbalanced at {tag.group(0)}"
        else:
            stack.append(tag.group(2))
            deepest = max(deepest, len(stack))
    assert not stack, "unclosed tags"
    return deepest


WRAPPERS = sorted((ALLOWED_TAGS - {"br", "img", "a"}) | {"ul><li", "ol><li", "div", "span",
                                                          'a href="https://x.example/?a>b"'})


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_any_nesting_is_cut_to_the_bound_and_its_text_kept(wrapper: str) -> None:
    opening = "".join(f"<{t}>" for t in wrapper.split("><"))
    hostile = opening * 3000 + "the deepest words" + "<br>tail"
    cleaned = sanitize_html(hostile)
    assert depth_of(cleaned) <= MAX_DEPTH + 1  # + the paragraph bare text is wrapped in
    assert "the deepest words" in cleaned and "tail" in cleaned


def test_shallow_markup_is_left_as_it_is() -> None:
    fragment = ('<ul><li><p>One <a href="https://x.example/?q=1>2">link</a></p>'
                '<blockquote><p><em>quoted</em></p></blockquote></li></ul>')
    assert limit_depth(fragment) == fragment
    assert limit_depth(fragment, max_depth=2) == "<ul><li>One linkquoted</li></ul>"


def test_a_deeply_nested_item_still_makes_a_pdf() -> None:
    summary = sanitize_html("<blockquote>" * 3000 + "deep")
    edition = make_edition([replace(ALL_ITEMS[0], summary_html=summary)])
    assert render_edition_pdf(edition, make_settings(), LINKS).startswith(b"%PDF")
