"""The reporting service's extension objects, created unbound and bound in ``create_app``."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from services.common.db import make_base
from services.common.ratelimit import make_limiter

# Its own metadata (not the shared Base's), so it can load beside another service's models.
db = SQLAlchemy(model_class=make_base())
migrate = Migrate()
limiter = make_limiter()
