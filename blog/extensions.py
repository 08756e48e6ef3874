"""Unbound Flask extensions, initialised in create_app(), and Celery bound to the app."""

import logging
import time

from celery import Celery, Task
from flask import Flask, current_app
from flask_caching import Cache
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic revisions identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
cache = Cache()
csrf = CSRFProtect()
log = logging.getLogger(__name__)
BROKER_REST = 5.0  # seconds without trying the broker after it failed to answer
# The rate limiter is built per app in blog.platform.ratelimit.init_app: Flask-Limiter keeps its
# storage on the Limiter object, so one shared instance would quietly share limits between apps.


class FlaskTask(Task):
    """A task that runs inside the Flask app's context, so it can use db.session and config."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        with self.app.flask_app.app_context():
            return self.run(*args, **kwargs)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from app.config["CELERY"] and keep it in app.extensions["celery"].

    In the web app it is only a client: tasks are sent by name (blog.jobs), never imported.
    """
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.flask_app = app
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def send_task(name: str, *args: object) -> bool:
    """Hand a task to the worker by name; False, logged, when the broker does not answer within
    REDIS_TIMEOUT. A hint only: what must happen is recorded in the database first, and the beat's
    sweeps hand it over again, so no request ever waits long on Redis."""
    celery: Celery = current_app.extensions["celery"]
    if time.monotonic() < current_app.extensions.get("weeknote_broker_down_until", 0.0):
        return False  # it just failed: a loop over many ids must not wait on each
    timeout = float(current_app.config["REDIS_TIMEOUT"])
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}
    try:
        with celery.connection_for_write(transport_options=options, connect_timeout=timeout) as connection:
            celery.send_task(name, args=list(args), connection=connection, retry=False)
    except Exception as error:  # noqa: BLE001 - any failure to hand over is retried by the sweep
        log.warning("could not queue %s%r: %s: %s", name, args, type(error).__name__, error)
        current_app.extensions["weeknote_broker_down_until"] = time.monotonic() + BROKER_REST
        return False
    return True
