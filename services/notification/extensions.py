"""The notification service's extension objects, created unbound and bound in ``create_app``."""

from __future__ import annotations

import smtplib

from flask import current_app
from flask_mail import Connection, Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from services.common.db import make_base
from services.common.ratelimit import make_limiter


class TimeoutConnection(Connection):
    """flask-mail's SMTP connection with a socket timeout (flask-mail sets none), whose
    QUIT cannot fail a send."""

    def configure_host(self) -> smtplib.SMTP:
        timeout = current_app.config["MAIL_TIMEOUT"]
        host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        # The server's 250 to DATA means it took the message: a connection that drops
        # before QUIT is answered must not make the job send the e-mail again.
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                self.host.close()


class TimeoutMail(Mail):
    """flask-mail whose connections time out instead of hanging a worker."""

    def connect(self) -> Connection:
        return TimeoutConnection(current_app.extensions["mail"])


# Its own metadata (not the shared Base's), so it can load beside another service's models.
db = SQLAlchemy(model_class=make_base())
migrate = Migrate()
limiter = make_limiter()
mail = TimeoutMail()
