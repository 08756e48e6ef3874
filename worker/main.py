"""Worker entry point: `celery -A worker.main worker` and `beat`. Builds the Flask app at import."""

from celery import signals

from blog import create_app
from blog.platform.logs import use_json

flask_app = create_app()
if not flask_app.config.get("REDIS_URL"):
    raise SystemExit("REDIS_URL is not set: the worker needs Redis as its broker (REDIS_URL=redis://...)")
app = flask_app.extensions["celery"]  # `celery -A worker.main` looks for a Celery app named `app`
app.conf.include = ["worker.tasks"]


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _json_logs(logger, **kwargs) -> None:
    """With LOG_FORMAT=json, Celery's own handlers write JSON lines too."""
    if flask_app.config["LOG_FORMAT"] == "json":
        use_json(logger)
