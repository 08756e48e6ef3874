"""Split a post's text into its metadata and its Markdown body.

Formats: YAML between ``---`` lines (Jekyll, Hugo, Gatsby, Next.js), TOML between
``+++`` lines (Hugo, Zola), a JSON object (Hugo), a Pelican/MultiMarkdown
``Key: value`` header, or nothing at all.
"""

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml
from frontmatter.default_handlers import BaseHandler, YAMLHandler

from blog.content.errors import ContentError

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Keys that make a leading "Key: value" block a Pelican header rather than prose.
PELICAN_KEYS = {
    "title", "date", "modified", "tags", "category", "slug", "author", "authors",
    "summary", "lang", "status", "template", "save_as", "url", "keywords",
}  # fmt: skip
PELICAN_LINE = re.compile(r"^([A-Za-z][\w-]*):\s*(.*)$")


class TOMLHandler(BaseHandler):
    """TOML front matter, read with the standard library's tomllib."""

    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def load(self, fm: str) -> dict[str, Any]:
        return tomllib.loads(fm)


@dataclass
class FrontMatter:
    metadata: dict[str, Any]
    body: str  # without the blank lines that separate it from the metadata
    format: str  # yaml, toml, json, pelican or none
    warnings: list[str] = field(default_factory=list)


def split_front_matter(text: str) -> FrontMatter:
    """Separate metadata from body; raise ContentError with a file line number on bad syntax."""
    for name, handler in (("yaml", YAMLHandler()), ("toml", TOMLHandler())):
        if handler.detect(text):
            return _split_delimited(text, name, handler)
    if (malformed := _split_malformed(text)) is not None:
        return malformed
    if text.startswith("{"):
        return _split_json(text)
    pelican = _split_pelican(text)
    if pelican:
        return pelican
    return FrontMatter({}, text, "none")


def _split_delimited(text: str, name: str, handler: BaseHandler) -> FrontMatter:
    delimiter = handler.START_DELIMITER
    try:
        raw, body = handler.split(text)
    except ValueError:
        raise ContentError(
            f"front matter opened with '{delimiter}' on line 1 is never closed: "
            f"add a '{delimiter}' line after the metadata",
            line=1,
        ) from None
    try:
        metadata = handler.load(raw, Loader=YAML_LOADER) if name == "yaml" else handler.load(raw)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        # raw starts with the newline that ended the opening delimiter line.
        line = mark.line + 1 if mark else None
        raise ContentError(f"invalid YAML front matter: {error.problem}", line=line) from None
    except yaml.YAMLError as error:
        raise ContentError(f"invalid YAML front matter: {error}") from None
    except tomllib.TOMLDecodeError as error:
        # raw starts with the newline after '+++', so tomllib's line numbers are the file's.
        message, _, where = str(error).partition(" (at line ")
        line = int(where.split(",")[0]) if where else None
        raise ContentError(f"invalid TOML front matter: {message}", line=line) from None
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ContentError(
            f"front matter must be 'key: value' pairs, not a {type(metadata).__name__}", line=2
        )
    return FrontMatter(metadata, body.lstrip("\n"), name)


def _split_malformed(text: str) -> FrontMatter | None:
    """Front matter after blank lines, or with no opening `---`, read when nothing else can be meant."""
    stripped = text.lstrip("\n \t")
    if stripped != text and stripped.startswith(("---\n", "+++\n")):
        for name, handler in (("yaml", YAMLHandler()), ("toml", TOMLHandler())):
            if handler.detect(stripped):
                try:
                    front = _split_delimited(stripped, name, handler)
                except ContentError:
                    return None
                front.warnings.append(
                    "the front matter starts after blank lines; it was read as front matter"
                )
                return front
        return None
    head, separator, body = text.partition("\n---\n")
    lines = head.split("\n")
    if not separator or len(lines) > 40 or "" in lines or not PELICAN_LINE.match(lines[0]):
        return None
    try:
        metadata = yaml.load(head, Loader=YAML_LOADER)
    except yaml.YAMLError:
        return None
    if not isinstance(metadata, dict) or not {str(key).lower() for key in metadata} & PELICAN_KEYS:
        return None
    warning = "the front matter has no opening '---' line; the lines before the first '---' were read as it"
    return FrontMatter(metadata, body.lstrip("\n"), "yaml", [warning])


def _split_json(text: str) -> FrontMatter:
    try:
        metadata, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as error:
        raise ContentError(f"invalid JSON front matter: {error.msg}", line=error.lineno) from None
    if not isinstance(metadata, dict):
        raise ContentError("JSON front matter must be an object", line=1)
    return FrontMatter(metadata, text[end:].lstrip("\n"), "json")  # blank lines are not content


def _split_pelican(text: str) -> FrontMatter | None:
    lines = text.split("\n")
    metadata: dict[str, Any] = {}
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 - index is used after the loop
        if not line.strip():
            break
        match = PELICAN_LINE.match(line)
        if not match:
            return None
        metadata[match.group(1).lower()] = match.group(2).strip()
    else:
        index = len(lines)
    if not metadata or next(iter(metadata)) not in PELICAN_KEYS:
        return None
    return FrontMatter(metadata, "\n".join(lines[index + 1 :]).lstrip("\n"), "pelican")
