"""``digest preview``: render one digest's next edition or one bulletin file, write the
form asked for, print its problem list.

The rendering is the jobs' (as a run would render it, nothing stored); this module picks
the target, writes the form and decides the exit code from the problems.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from digest.errors import InputError
from digest.files import write_atomic
from digest.jobs.build import preview_edition
from digest.jobs.bulletins import bulletin_file
from digest.jobs.context import Context
from digest.jobs.forms import RenderedForms, form_bytes
from digest.jobs.problems import bulletin_problems, edition_problems
from digest.render.lint import Problem

FORM_BY_SUFFIX = {".html": "html", ".htm": "html", ".txt": "text", ".pdf": "pdf",
                  ".mjml": "mjml", ".eml": "eml"}


def preview(ctx: Context, target: str, form: str | None, out_file: str | None, strict: bool,
            out: TextIO) -> int:
    """Render one target, write the requested form, print its problem list."""
    if out_file and not form:
        form = FORM_BY_SUFFIX.get(Path(out_file).suffix.lower())
        if form is None:
            raise InputError(f"--out {out_file}: say which form with --format "
                             f"({', '.join(sorted(set(FORM_BY_SUFFIX.values())))})")
    forms, problems, name = _rendered_target(ctx, target)
    if form:
        data = form_bytes(ctx, forms, form, name)
        if out_file:
            write_atomic(Path(out_file), data)
            print(f"wrote {form} to {out_file} ({len(data)} bytes)", file=out)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    report = sys.stderr if form and not out_file else out
    html_size = len(forms.email.html.encode())
    print(f"{name}: email {html_size / 1024:.1f} KB html, {len(forms.pdf) / 1024:.1f} KB pdf",
          file=report)
    for problem in problems:
        print(f"{problem.severity}: {problem.location}: {problem.message}", file=report)
    if not problems:
        print("no problems found", file=report)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    return 1 if errors or (strict and warnings) else 0


def _rendered_target(ctx: Context, target: str) -> tuple[RenderedForms, list[Problem], str]:
    """Render a bulletin file or a digest's next edition; return its forms and problems."""
    path = Path(target)
    if target.endswith((".md", ".markdown")) or path.is_file():
        if not path.exists():  # a FIFO or a folder is refused by the bounded reader
            raise InputError(f"{target}: no such bulletin file")
        bulletin, forms = bulletin_file(ctx, path)
        return forms, bulletin_problems(bulletin, forms.email, ctx.settings), bulletin.slug
    digest = ctx.settings.digest(target)
    if digest is None:
        known = ", ".join(d.id for d in ctx.settings.digests) or "none"
        raise InputError(f"{target!r} is neither a bulletin file nor a digest id "
                         f"(digests: {known})")
    rendered = preview_edition(ctx, digest)
    edition, forms = rendered.edition, rendered.prepared.forms
    problems = edition_problems(digest.id, edition.number, forms.email, rendered.left_out,
                                empty=edition.is_empty)
    return forms, problems, f"{digest.id}-{edition.number}"
