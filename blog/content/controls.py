"""Control characters: invisible in a title or a tag, and fatal in a feed (XML 1.0 forbids them)."""

import re

# Every C0 control but tab and newline: what a title, tag or excerpt may not hold.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f]")
# What XML 1.0 cannot carry at all, so feeds drop it whatever a stored post holds.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def strip_controls(text: str) -> str:
    return CONTROLS.sub("", text)


def xml_safe(text: str) -> str:
    return NOT_XML.sub("", text)


def clean_fields(fields: dict[str, str | list[str] | None], warnings: list[str]) -> dict:
    """The fields without control characters, with a warning naming each field that had some."""
    cleaned = {}
    for name, value in fields.items():
        texts = value if isinstance(value, list) else [value]
        if any(text and CONTROLS.search(text) for text in texts):
            warnings.append(f"removed control characters (invisible; feeds refuse them) from the {name}")
            texts = [strip_controls(text) if text else text for text in texts]
        cleaned[name] = texts if isinstance(value, list) else texts[0]
    return cleaned
