"""Find Markdown structure outside code: fenced blocks and ATX headings."""

import re
from collections.abc import Iterator

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
ATX_H1 = re.compile(r"^ {0,3}#(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")


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
            return match["text"].strip()
    return None


def remove_title_h1(text: str, title: str) -> str:
    """Drop the first `# Heading` when it repeats the title, so a page shows its title once."""
    wanted = " ".join(title.split()).casefold()
    lines = text.split("\n")
    for index, line, is_code in iter_lines(text):
        if is_code or not (match := ATX_H1.match(line)) or not match["text"]:
            continue
        if " ".join(match["text"].split()).casefold() == wanted:
            del lines[index]
            return "\n".join(lines)
        return text
    return text


def has_h1(text: str) -> bool:
    """Whether a `# Heading` remains outside code."""
    return any(
        not is_code and ATX_H1.match(line) and line.strip() != "#" for _, line, is_code in iter_lines(text)
    )
