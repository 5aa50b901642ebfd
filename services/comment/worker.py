"""Entry point of the comment worker: ``celery -A services.comment.worker worker -Q comment``."""

from services.comment import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
