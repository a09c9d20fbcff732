"""Shared fixtures. Store fixtures (SQLite always, PostgreSQL when MLCONTEXT_TEST_POSTGRES is set)."""
