"""Larger uploads for the pages made for them: MAX_CONTENT_LENGTH stays small everywhere else.

The limit must be set before anything reads the form (the CSRF check does), so this hook is
registered before the CSRF extension's."""

from flask import Flask, current_app, request


def init_app(app: Flask) -> None:
    app.extensions["upload_limits"] = {}
    app.before_request(apply_limit)


def allow(app: Flask, endpoint: str, bytes_key: str, files_key: str) -> None:
    """Let `endpoint` take up to config[bytes_key] bytes in up to config[files_key] files."""
    app.extensions["upload_limits"][endpoint] = (bytes_key, files_key)


def apply_limit() -> None:
    keys = current_app.extensions["upload_limits"].get(request.endpoint)
    if keys is not None:
        request.max_content_length = current_app.config[keys[0]]
        request.max_form_parts = current_app.config[keys[1]] + 10  # the files and the form's fields
