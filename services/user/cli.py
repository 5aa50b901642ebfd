"""Flask commands of the user service."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from services.user.extensions import db
from services.user.models import User
from services.user.tokens import hash_password
from services.user.users.schemas import PASSWORD, USERNAME


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--username", required=True, help="Login name of the admin.")
    @click.option("--email", required=True, help="E-mail address of the admin.")
    @click.option("--full-name", default=None, help="Display name.")
    @click.option(
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="Password (prompted for when not given; reads stdin when piped).",
    )
    @click.option(
        "--promote", is_flag=True, help="Make an existing account with this username an admin."
    )
    def create_admin(
        username: str, email: str, full_name: str | None, password: str, promote: bool
    ) -> None:
        """Create the first admin account (there is no default admin)."""
        username, email = username.lower(), email.lower()
        existing = db.session.scalar(select(User).where(User.username == username))
        if existing is not None:
            if not promote:
                raise click.ClickException(
                    f"user {username!r} exists; pass --promote to make it an admin"
                )
            existing.role = "admin"
            db.session.commit()
            click.echo(f"promoted {username} (id {existing.id}) to admin")
            return
        try:
            USERNAME(username)
            PASSWORD(password)
        except Exception as exc:  # marshmallow ValidationError
            raise click.ClickException(str(exc)) from exc
        if db.session.scalar(select(User).where(User.email == email)) is not None:
            raise click.ClickException(f"an account with e-mail {email} exists")
        user = User(
            username=username,
            email=email,
            full_name=full_name,
            password_hash=hash_password(password),
            role="admin",
        )
        db.session.add(user)
        db.session.commit()
        click.echo(f"created admin {username} (id {user.id})")
