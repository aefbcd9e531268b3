"""Alembic's scripts for the store's schema: ``env.py`` and one file per revision under
``versions/``. ``digest.store.migrate`` runs them; docs/deploy.md says when."""
