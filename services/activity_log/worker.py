"""Entry point of the activity worker: ``celery -A services.activity_log.worker worker -Q activity``."""

from services.activity_log import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
