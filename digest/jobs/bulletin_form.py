"""A bulletin file as the console's editor form holds it, and back: front-matter fields as
text, the themes ticked, the Markdown body.

The form round-trips through the declared fields of ``BulletinMeta`` only. A file's front
matter is kept byte for byte (comments, quoting, key order) when a save leaves every field
as it was; once a field changes, the front matter is written again from the fields, in
their declared order, and its comments are dropped (the editor page says so). Keys that
are no bulletin field (a run refuses them anyway) cannot be shown in the form: they are
listed on the page and dropped by a save. A theme named by title or alias is shown ticked
under its slug and written back as the slug.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from digest import markdown, yaml_loader
from digest.config import Settings
from digest.config.bulletin_meta import BulletinMeta, themes_of

FIELDS: tuple[str, ...] = tuple(BulletinMeta.model_fields)
TEXT_FIELDS: tuple[str, ...] = tuple(name for name in FIELDS if name != "themes")
# What a problem's key names when it is about no field: the body, or the whole file.
BODY, FILE = "body", "file"
_PROBLEM = re.compile(r"^(?:.*?):(?P<line>\d+): (?P<key>[^:]+): |^(?:[^:]*): (?P<bare>[^:]+): ")


@dataclass(frozen=True)
class Draft:
    """What the form holds: each text field (``""``: not given), the theme slugs ticked,
    and the body, with ``\\n`` line ends."""

    fields: Mapping[str, str] = field(default_factory=dict)
    themes: tuple[str, ...] = ()
    body: str = ""

    @classmethod
    def of_form(cls, form: Mapping[str, list[str]]) -> Draft:
        """A draft from POSTed fields: the last value of each, line ends made ``\\n``."""
        def last(name: str) -> str:
            values = form.get(name) or [""]
            return values[-1].replace("\r\n", "\n").replace("\r", "\n")

        return cls({name: last(name).strip() for name in TEXT_FIELDS},
                   tuple(dict.fromkeys(form.get("themes", []))), last("body"))

    def same_fields(self, other: Draft) -> bool:
        """Whether both drafts give every front-matter field the same value."""
        return (all(self.fields.get(n, "") == other.fields.get(n, "") for n in TEXT_FIELDS)
                and self.themes == other.themes)


@dataclass(frozen=True)
class Problem:
    """One problem the loader found, tied to the form field it is about (``FILE`` when it
    is about none), with the loader's own ``FILE:LINE: key: what`` line."""

    field: str
    text: str


@dataclass(frozen=True)
class Parsed:
    """A file's text cut for the form: the draft, the front matter text as written (kept
    when the fields do not change), and the keys the form cannot hold."""

    draft: Draft
    head: str  # the file up to its body: the --- lines and the front matter between
    dropped: tuple[str, ...]
    readable: bool  # False: no front matter, or not YAML key: value lines


def parse(text: str, settings: Settings) -> Parsed:
    """The draft of a file's text; never raises (the loader reports what is wrong)."""
    split = markdown.split_front_matter(text)
    if split is None:
        return Parsed(Draft(body=text), "", (), False)
    head = text[:len(text) - len(split.body)]
    try:
        _, meta = yaml_loader.load(split.front_matter)
    except yaml.YAMLError:
        meta = None
    if not isinstance(meta, dict):
        return Parsed(Draft(body=split.body), head, (), False)
    names = themes_of(settings)["themes"]
    raw_themes = meta.get("themes")
    listed = raw_themes if isinstance(raw_themes, list) else [raw_themes] if raw_themes else []
    themes = tuple(dict.fromkeys(names.get(str(t).strip().casefold(), str(t)) for t in listed))
    fields = {name: _as_text(meta.get(name)) for name in TEXT_FIELDS}
    dropped = tuple(str(key) for key in meta if key not in FIELDS)
    return Parsed(Draft(fields, themes, split.body), head, dropped, True)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()


def compose(draft: Draft, kept: Parsed | None = None) -> str:
    """The file's text for a draft: ``kept``'s front matter as written when the draft's
    fields are the ones it holds (and it holds nothing the form drops), else front matter
    written from the fields; then the body, ending with a line end."""
    body = draft.body if draft.body.endswith("\n") or not draft.body else draft.body + "\n"
    if (kept is not None and kept.readable and not kept.dropped
            and draft.same_fields(kept.draft)):
        return kept.head + body
    meta: dict[str, Any] = {}
    for name in FIELDS:
        if name == "themes":
            if draft.themes:
                meta[name] = list(draft.themes)
        elif value := draft.fields.get(name, "").strip():
            meta[name] = _typed(name, value)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000) if meta \
        else ""
    return f"---\n{front}---\n\n{body.lstrip(chr(10))}"


def _typed(name: str, value: str) -> Any:
    """Dates as YAML dates, unquoted as a person writes them; anything else as text (an
    impossible date stays text: the loader says what is wrong with it)."""
    try:
        if name in ("date", "end_date"):
            return date.fromisoformat(value)
        if name == "send_at":
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo is not None else value
    except ValueError:
        return value
    return value


def problems_of(message: str) -> tuple[Problem, ...]:
    """The loader's ``InputError`` text, one ``Problem`` per line, each tied to its field."""
    found = []
    for line in message.splitlines():
        match = _PROBLEM.match(line)
        key = (match.group("key") or match.group("bare")) if match else ""
        name = re.split(r"[.\[]", key.strip(), maxsplit=1)[0] if key else ""
        where = name if name in FIELDS else BODY if name in ("(body)",) else FILE
        found.append(Problem(where, line))
    return tuple(found)
