"""Strip everything from rendered HTML that could run code in a reader's browser."""

from copy import deepcopy

import nh3

ATTRIBUTES = deepcopy(nh3.ALLOWED_ATTRIBUTES)
ATTRIBUTES["*"] = {"class", "title", "style", "lang", "dir"}
for _tag in ("h1", "h2", "h3", "h4", "h5", "h6", "li", "sup", "dt", "a", "figure"):
    ATTRIBUTES.setdefault(_tag, set()).add("id")
ATTRIBUTES["a"] |= {"href", "hreflang"}
ATTRIBUTES["img"] |= {"title", "loading", "srcset", "sizes"}
ATTRIBUTES["ol"] |= {"reversed", "type"}
ATTRIBUTES["abbr"] = {"title"}

OPTIONS = {
    "tags": nh3.ALLOWED_TAGS | {"figure", "figcaption", "details", "summary", "mark"},
    "clean_content_tags": {"script", "style"},
    "attributes": ATTRIBUTES,
    "tag_attribute_values": {"a": {"target": {"_blank"}}},
    "filter_style_properties": {"color", "background-color"},
    "link_rel": "noopener noreferrer",
    "strip_comments": True,
}
_cleaner = nh3.Cleaner(**OPTIONS)


def sanitize_html(html: str) -> str:
    """Keep Markdown's output, Pygments classes, heading ids, target=_blank and colours."""
    return _cleaner.clean(html)


def absolutize_urls(html: str, base_url: str) -> str:
    """Sanitise again with relative links and images resolved against base_url (for feeds)."""
    return nh3.Cleaner(**OPTIONS, url_relative=("rewrite_with_base", base_url)).clean(html)
