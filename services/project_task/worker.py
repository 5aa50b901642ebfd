"""Entry point of the project-task worker:
``celery -A services.project_task.worker worker -Q project-task``."""

from services.project_task import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
