from datetime import UTC, date, datetime

import pytest

from blog.content import ContentError
from blog.content.frontmatter import split_front_matter


def test_yaml():
    front = split_front_matter("---\ntitle: Hi\ndate: 2024-01-15\ntags: [a, b]\n---\n\nBody\n---\nmore")
    assert front.format == "yaml"
    assert front.metadata == {"title": "Hi", "date": date(2024, 1, 15), "tags": ["a", "b"]}
    assert front.body == "Body\n---\nmore"


def test_toml():
    front = split_front_matter('+++\ntitle = "Hi"\ndate = 2024-01-15T08:30:00Z\n+++\nBody')
    assert front.format == "toml"
    assert front.metadata == {"title": "Hi", "date": datetime(2024, 1, 15, 8, 30, tzinfo=UTC)}
    assert front.body == "Body"


@pytest.mark.parametrize("text", ['{\n  "title": "Hi"\n}\n\nBody', '{"title": "Hi"}\nBody'])
def test_json(text):
    front = split_front_matter(text)
    assert (front.format, front.metadata, front.body.strip()) == ("json", {"title": "Hi"}, "Body")


def test_pelican_header():
    front = split_front_matter("Title: Hi\nDate: 2024-01-15 10:20\nTags: a, b\n\nBody text")
    assert front.format == "pelican"
    assert front.metadata == {"title": "Hi", "date": "2024-01-15 10:20", "tags": "a, b"}
    assert front.body == "Body text"


@pytest.mark.parametrize("text", ["# Heading\n\nBody", "Note: this is prose, not a header.\n\nMore"])
def test_no_front_matter(text):
    front = split_front_matter(text)
    assert (front.format, front.metadata, front.body) == ("none", {}, text)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("---\ntitle: Hi\n  tags: [a\n---\nBody", 3, "invalid YAML front matter"),
        ('---\ntitle: "unclosed\ndate: 2024\n---\n', 4, "invalid YAML front matter"),
        ("---\ntitle: Hi\nBody without a closing line", 1, "never closed"),
        ("---\n- a list\n---\nBody", 2, "must be 'key: value' pairs"),
        ("+++\ntitle = \n+++\nBody", 2, "invalid TOML front matter"),
        ('{\n  "title": "Hi",\n}\nBody', 3, "invalid JSON front matter"),
    ],
)
def test_bad_front_matter_names_the_file_line(text, line, message):
    with pytest.raises(ContentError, match=message) as error:
        split_front_matter(text)
    assert error.value.line == line
    assert str(error.value).startswith(f"line {line}: ")
