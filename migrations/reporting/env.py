"""Alembic environment of the reporting service: see services/common/migration_env.py."""

from services.common.migration_env import run_migrations

run_migrations()
