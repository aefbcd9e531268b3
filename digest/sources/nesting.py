"""Bound how deep cleaned HTML nests: a hostile item must not sink a PDF or a mail client.

A summary of a few kilobytes can nest thousands of lists or quotes; every renderer walks
the tree recursively somewhere (WeasyPrint's layout stops with "maximum recursion depth
exceeded", mail clients give up or crawl). No reader needs more than a few levels, so tags
past ``MAX_DEPTH`` are dropped and their text kept, in place. The input is what nh3 wrote
(tags well formed, attributes quoted, every element closed), so matching tags by name
on a stack is exact.
"""

from __future__ import annotations

import re

MAX_DEPTH = 16
_TAG = re.compile(r'<(/?)([A-Za-z][A-Za-z0-9]*)\b(?:[^>"]|"[^"]*")*>')  # ">" may be quoted
_VOID = frozenset({"br", "img", "hr", "wbr"})


def flatten_deep(fragment: str, max_depth: int = MAX_DEPTH) -> str:
    """``fragment`` with the elements nested deeper than ``max_depth`` unwrapped."""
    if fragment.count("<") <= max_depth:
        return fragment  # cannot be deeper than it has tags
    kept: list[str] = []
    stack: list[bool] = []  # per open element: whether its tags were kept
    depth = 0
    position = 0
    for tag in _TAG.finditer(fragment):
        kept.append(fragment[position:tag.start()])
        position = tag.end()
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name in _VOID:
            kept.append(tag.group(0))
        elif not closing:
            keep = depth < max_depth
            stack.append(keep)
            depth += keep
            if keep:
                kept.append(tag.group(0))
        elif stack and stack.pop():
            depth -= 1
            kept.append(tag.group(0))
    kept.append(fragment[position:])
    return "".join(kept)
