"""``digest db upgrade``: bring the store's schema to this version's revision.

The only job that changes a schema; every other command refuses a database at another
revision (``store.migrate.refusal``). It opens the store without that check, runs the
revisions it lacks (Alembic, one transaction on PostgreSQL), and says where it was and is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from digest.config import database_url
from digest.errors import StoreError
from digest.jobs.context import Context
from digest.store import Database, migrate
from digest.store.database import shown_url
from digest.store.migrate import Revision, Standing


@dataclass(frozen=True)
class Upgrade:
    url: str
    before: Revision
    after: Revision

    def line(self) -> str:
        """What happened, in one line."""
        was = self.before.found or ("empty" if self.before.standing is Standing.EMPTY
                                    else "made before migrations")
        if self.before.standing is Standing.CURRENT:
            return f"{self.url}: already at schema revision {self.after.found}"
        return f"{self.url}: schema revision {was} -> {self.after.found}"


def upgrade_schema(ctx: Context) -> Upgrade:
    """Upgrade the context's database; ``StoreError`` when it cannot be (a newer version's,
    or older than the first revision)."""
    url = database_url(ctx.settings, ctx.env)
    database = Database(url, check_schema=False)
    shown = shown_url(url)  # messages name the database without its password
    try:
        before, after = migrate.upgrade(database.engine, shown)
    except SQLAlchemyError as exc:
        raise StoreError(f"the upgrade of {shown} failed: {exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0]} (on PostgreSQL nothing was changed; "
                         "on SQLite restore the backup)") from None
    finally:
        database.close()
    return Upgrade(shown, before, after)
