"""Alembic revisions, oldest first; a package so the installed wheel ships them."""
