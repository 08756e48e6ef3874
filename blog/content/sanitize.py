"""Strip everything from rendered HTML that could run code in a reader's browser."""

import html as htmllib
import re
from copy import deepcopy
from urllib.parse import urljoin

import nh3

from blog.content.embeds import SANDBOX, is_allowed_frame
from blog.content.math import MATHML_ATTRIBUTES, MATHML_TAGS

SRCSET = re.compile(r'\ssrcset="([^"]*)"')
ATTRIBUTES = deepcopy(nh3.ALLOWED_ATTRIBUTES)
ATTRIBUTES["*"] = {"class", "title", "style", "lang", "dir"}
for _tag in ("h1", "h2", "h3", "h4", "h5", "h6", "li", "sup", "dt", "a", "figure"):
    ATTRIBUTES.setdefault(_tag, set()).add("id")
ATTRIBUTES["a"] |= {"href", "hreflang"}
ATTRIBUTES["img"] |= {"title", "loading", "srcset", "sizes"}
ATTRIBUTES["ol"] |= {"reversed", "type"}
ATTRIBUTES["abbr"] = {"title"}
ATTRIBUTES["details"] = {"open"}
for _tag in MATHML_TAGS:
    ATTRIBUTES[_tag] = set(MATHML_ATTRIBUTES)
ATTRIBUTES["iframe"] = {"src", "title", "width", "height"}
# Every iframe is sandboxed, lazy and sends no full referrer, whatever the source said.
IFRAME_SETTINGS = {
    "sandbox": SANDBOX,
    "loading": "lazy",
    "referrerpolicy": "strict-origin-when-cross-origin",
    "allow": "fullscreen; picture-in-picture",
}


def _filter(tag: str, attribute: str, value: str) -> str | None:
    """An iframe keeps its src only when it is an allowlisted video embed (content/embeds.py)."""
    if tag == "iframe" and attribute == "src" and not is_allowed_frame(value):
        return None
    return value


OPTIONS = {
    "tags": nh3.ALLOWED_TAGS | {"figure", "figcaption", "details", "summary", "mark", "iframe"} | MATHML_TAGS,
    "clean_content_tags": {"script", "style"},
    "attributes": ATTRIBUTES,
    "tag_attribute_values": {"a": {"target": {"_blank"}}},
    "filter_style_properties": {"color", "background-color"},
    "link_rel": "noopener noreferrer",
    "strip_comments": True,
    "attribute_filter": _filter,
    # A code block wider than the screen scrolls; tabindex lets a keyboard reach it to scroll it.
    "set_tag_attribute_values": {"iframe": IFRAME_SETTINGS, "pre": {"tabindex": "0"}},
}
_cleaner = nh3.Cleaner(**OPTIONS)


def sanitize_html(html: str) -> str:
    """Keep Markdown's output, Pygments classes, heading ids, target=_blank and colours."""
    return _cleaner.clean(html)


def absolutize_urls(html: str, base_url: str) -> str:
    """Sanitise again with relative links and images resolved against base_url (for feeds and
    mail); nh3 resolves href and src, each entry of a srcset is resolved here."""
    cleaned = nh3.Cleaner(**OPTIONS, url_relative=("rewrite_with_base", base_url)).clean(html)
    if "srcset=" not in cleaned:
        return cleaned

    def resolve(match: re.Match) -> str:
        entries = []
        for entry in htmllib.unescape(match[1]).split(","):
            if words := entry.split():
                entries.append(" ".join([urljoin(base_url, words[0]), *words[1:]]))
        return f' srcset="{htmllib.escape(", ".join(entries), quote=True)}"'

    return SRCSET.sub(resolve, cleaned)
