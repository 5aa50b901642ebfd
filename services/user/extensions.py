"""The user service's extension objects, created unbound and bound in ``create_app``."""

from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from services.common.db import make_base
from services.common.ratelimit import make_limiter

db = SQLAlchemy(model_class=make_base())
migrate = Migrate()
jwt = JWTManager()
limiter = make_limiter()
