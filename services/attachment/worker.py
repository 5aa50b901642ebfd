"""Entry point of the attachment worker:
``celery -A services.attachment.worker worker -Q attachment``."""

from services.attachment import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
