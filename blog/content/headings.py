"""Find Markdown structure outside code: fenced blocks, ATX and setext headings."""

import re
from collections.abc import Iterator

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
ATX_H1 = re.compile(r"^ {0,3}#(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
EMPHASIS = re.compile(r"^(\*\*|__|\*|_)(?P<text>.+)\1$")


def plain_heading(text: str) -> str:
    """A heading's text without the emphasis wrapped around all of it (`**Title**` -> `Title`)."""
    text = " ".join(text.split())
    while match := EMPHASIS.match(text):
        text = match["text"].strip()
    return text


def iter_lines(text: str) -> Iterator[tuple[int, str, bool]]:
    """Yield (index, line, is_code) for each line; fence lines themselves count as code."""
    closing = None
    for index, line in enumerate(text.split("\n")):
        if closing:
            if line.strip().startswith(closing) and not line.strip().strip(closing[0]):
                closing = None
            yield index, line, True
            continue
        match = FENCE.match(line)
        if match and not (match["fence"][0] == "`" and "`" in match["info"]):
            closing = match["fence"]
            yield index, line, True
            continue
        yield index, line, False


def find_first_h1(text: str) -> str | None:
    """Return the text of the first `# Heading` outside code, or None."""
    for _, line, is_code in iter_lines(text):
        if not is_code and (match := ATX_H1.match(line)) and match["text"]:
            return plain_heading(match["text"])
    return None


def remove_title_h1(text: str, title: str) -> str:
    """Drop the first `# Heading` when it repeats the title, so a page shows its title once."""
    wanted = " ".join(title.split()).casefold()
    lines = text.split("\n")
    for index, line, is_code in iter_lines(text):
        if is_code or not (match := ATX_H1.match(line)) or not match["text"]:
            continue
        if plain_heading(match["text"]).casefold() == wanted:
            del lines[index]
            return "\n".join(lines)
        return text
    return text


def has_h1(text: str) -> bool:
    """Whether a `# Heading`, or a setext heading underlined with `===`, remains outside code."""
    previous = ""
    for _, line, is_code in iter_lines(text):
        if not is_code:
            if ATX_H1.match(line) and line.strip() != "#":
                return True
            if SETEXT_H1.match(line) and previous.strip() and not previous.startswith(("    ", "\t")):
                return True
        previous = "" if is_code else line
    return False
