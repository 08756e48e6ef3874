"""Logs as JSON lines when LOG_FORMAT=json (web, gunicorn and the Celery worker), plain text otherwise."""

import json
import logging
import sys
from datetime import UTC, datetime

from flask import Flask
from flask.logging import default_handler

LOG_FORMATS = ("text", "json")
_HANDLER_NAME = "weeknote-json"


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def use_json(logger: logging.Logger) -> None:
    """Give every handler of logger the JSON formatter; add a stderr handler when it has none."""
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        logger.addHandler(handler)
    for handler in logger.handlers:
        handler.setFormatter(JSONFormatter())


def init_app(app: Flask) -> None:
    """With LOG_FORMAT=json, log every record of the process (root logger, INFO and up) as JSON."""
    if app.config["LOG_FORMAT"] != "json":
        return
    root = logging.getLogger()
    use_json(root)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # werkzeug adds its own text handler only when nothing handles its records yet; Flask always does.
    app.logger.removeHandler(default_handler)


def gunicorn_logconfig() -> dict:
    """A logging.config dict that makes gunicorn's error and access logs JSON lines on stderr/stdout."""
    formatter = {"()": JSONFormatter}
    handlers = {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": formatter},
        "handlers": handlers,
        "root": {"level": "INFO", "handlers": ["error_console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
