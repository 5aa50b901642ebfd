"""The notification worker: ``celery -A services.notification.worker worker -Q notification``."""

from services.notification import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
