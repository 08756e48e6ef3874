"""The content pipeline: read, split front matter, normalise, pre-process, render, sanitise.

Pure functions only: nothing here imports Flask, SQLAlchemy or Celery.
"""

from blog.content.errors import ContentError
from blog.content.pipeline import PIPELINE_VERSION, ParsedPost, parse_file, parse_text

__all__ = ["PIPELINE_VERSION", "ContentError", "ParsedPost", "parse_file", "parse_text"]
