"""Fixtures of the deploy/ checks."""

# The store tests' database fixture (a SQLite file, and a fresh PostgreSQL
# database that is dropped afterwards), for running the migration program.
from tests.store.conftest import store_url  # noqa: F401
