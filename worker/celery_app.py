"""Bind Celery to a Flask app (Flask's "Background Tasks with Celery" pattern)."""

from celery import Celery, Task
from flask import Flask


class FlaskTask(Task):
    """A task that runs inside the Flask app's context, so it can use db.session and config."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        with self.app.flask_app.app_context():
            return self.run(*args, **kwargs)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from app.config["CELERY"] and keep it in app.extensions["celery"]."""
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.flask_app = app
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
