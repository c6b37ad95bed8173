"""Alembic migrations of the store's schema; run through `Store.migrate()`."""
