"""Worker entry point: `celery -A worker.main worker` (and, later, `beat`). Builds the Flask app at import."""

from blog import create_app

flask_app = create_app()
if not flask_app.config.get("REDIS_URL"):
    raise SystemExit("REDIS_URL is not set: the worker needs Redis as its broker (REDIS_URL=redis://...)")
app = flask_app.extensions["celery"]  # `celery -A worker.main` looks for a Celery app named `app`
app.conf.include = ["worker.tasks"]
