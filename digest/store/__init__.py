"""The store: SQLAlchemy tables and the few queries each stage needs.

``Database`` opens SQLite (default) or PostgreSQL; the submodules ``items``, ``editions``,
``subscribers``, ``deliveries`` and ``sources`` hold the queries, each taking a connection
inside a transaction that the caller (the jobs or the CLI) opens.
"""

from digest.store.database import Database

__all__ = ["Database"]
