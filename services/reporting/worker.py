"""Entry point of the reporting worker: ``celery -A services.reporting.worker worker -Q reporting``."""

from services.reporting import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
