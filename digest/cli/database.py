"""``digest db upgrade``: the schema's migrations, run by an operator (docs/deploy.md)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from digest.cli.common import Subcommands, add_command

if TYPE_CHECKING:
    from digest.jobs.context import Context


def register(commands: Subcommands) -> None:
    """Add ``db`` and its one action."""
    group = add_command(
        commands, "db", "the store's schema",
        """
        The store's schema. Every other command refuses a database whose schema is at
        another revision than this version's, naming `digest db upgrade`.
        """,
        "digest db upgrade")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_command(
        actions, "upgrade", "bring the database's schema to this version",
        """
        Apply the schema revisions the database lacks (Alembic), in one transaction on
        PostgreSQL. Stop `digest serve` and every worker first, and back the database up:
        a revision is not undone. A database made before migrations is completed from
        the first revision on; one made by a newer version is refused (exit 2).
        """,
        "digest db upgrade", _upgrade)


def _upgrade(ctx: Context, args: argparse.Namespace, out: TextIO) -> int:
    from digest.jobs.schema_upgrade import upgrade_schema

    print(upgrade_schema(ctx).line(), file=out)
    return 0
