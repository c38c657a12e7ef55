"""The importer's database fixtures (SQLite; PostgreSQL too with EXAMBOT_TEST_PG) for the checks' storage tests."""

from tests.importer.conftest import counts, db, imp, pg_module_url, scheduled, staffed, xlsx  # noqa: F401
