"""Alembic's entry: run the revisions on the connection ``digest.store.migrate`` hands over.

No ``alembic.ini`` and no URL here: the product opens the database itself (its URL from the
config or the environment), so a migration always runs against the store the commands use.
"""

from __future__ import annotations

from alembic import context

from digest.store import member_tables  # noqa: F401 (its tables belong to the metadata)
from digest.store.schema import metadata

connection = context.config.attributes["connection"]
# Batch mode: SQLite cannot alter a column in place; Alembic copies the table instead.
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
