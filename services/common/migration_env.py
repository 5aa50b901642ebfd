"""The Alembic environment every service's ``migrations/<service>/env.py`` runs.

Flask-Migrate gives the app (and so the service's own database and metadata); logging
stays the service's JSON logging.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic import context
from flask import current_app

log = logging.getLogger("alembic.env")


def _skip_empty_autogenerate(context_, revision, directives) -> None:
    if getattr(context.config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")


def include_object(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
    """What autogenerate compares: not expression indexes, which it cannot compare
    (each is written by hand in its migration and tested where a query relies on it)."""
    if type_ == "index":
        return all(isinstance(expression, sa.Column) for expression in obj.expressions)
    return True


def run_migrations() -> None:
    """Run the migrations of the service whose app is current (online or offline)."""
    migrate = current_app.extensions["migrate"]
    engine = migrate.db.engine
    metadata = migrate.db.metadata
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    context.config.set_main_option("sqlalchemy.url", url)
    conf_args = dict(migrate.configure_args)
    conf_args.setdefault("process_revision_directives", _skip_empty_autogenerate)
    conf_args.setdefault("include_object", include_object)
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
