"""Rewrite other generators' template syntax into plain Markdown before rendering.

Jekyll Liquid tags, Hugo shortcodes, kramdown markers and fence info strings such
as ```js{2,4} are turned into what Python-Markdown understands. Code (fenced
blocks and inline code spans) is never touched, so posts *about* Liquid survive.
"""

import html
import re
import shlex
from dataclasses import dataclass, field

from blog.content.dialects import inline_display_math, rewrite_lines, rewrite_mdx
from blog.content.embeds import vimeo, youtube
from blog.content.headings import FENCE, iter_lines
from blog.content.slugs import slugify

DATE_PREFIX = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}-")

# Inline code spans come first in each alternation so their contents are skipped.
CODE_SPAN = r"(?P<code>(?P<ticks>`+)[^`].*?(?P=ticks))"
LIQUID_BLOCK_OPEN = re.compile(r"^\s*\{%-?\s*highlight\s+(?P<lang>[\w+#.-]+)[^%]*-?%\}\s*$")
LIQUID_BLOCK_CLOSE = re.compile(r"^\s*\{%-?\s*endhighlight\s*-?%\}\s*$")
HUGO_BLOCK_OPEN = re.compile(r'^\s*\{\{[<%]\s*highlight\s+"?(?P<lang>[\w+#.-]+)"?[^>%]*[>%]\}\}\s*$')
HUGO_BLOCK_CLOSE = re.compile(r"^\s*\{\{[<%]\s*/\s*highlight\s*[>%]\}\}\s*$")
# Hexo: {% codeblock [title] lang:js %} ... {% endcodeblock %}, and {% code %} ... {% endcode %}.
HEXO_BLOCK_OPEN = re.compile(r"^\s*\{%-?\s*(?P<tag>codeblock|code)\b(?P<args>[^%]*)-?%\}\s*$")
HEXO_BLOCK_CLOSE = re.compile(r"^\s*\{%-?\s*end(?:codeblock|code)\s*-?%\}\s*$")
INLINE = re.compile(
    CODE_SPAN
    + r"|(?P<raw>\{%-?\s*raw\s*-?%\}(?P<raw_body>.*?)\{%-?\s*endraw\s*-?%\})"
    + r"|(?P<comment>\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\})"
    + r"|(?P<liquid_tag>\{%-?\s*(?P<tag>\w+)(?P<tag_args>.*?)-?%\})"
    + r"|(?P<shortcode>\{\{(?P<open>[<%])\s*(?P<closing>/)?\s*(?P<name>[\w.-]+)(?P<args>.*?)[>%]\}\})"
    + r"|(?P<liquid_out>\{\{-?\s*(?P<out>[^{}]*?)\s*-?\}\})"
    + r"|(?P<ial_gap>(?<=[\])])[ \t]+(?=\{:))",
    re.DOTALL,
)
KRAMDOWN_TOC = re.compile(r"^(?:[*+-]|1\.)[ \t]+.*\n\{:\s*toc\s*\}[ \t]*$", re.MULTILINE)
KRAMDOWN_OPTIONS = re.compile(r"^\{::options\b.*?/\}[ \t]*$", re.MULTILINE)
HIGHLIGHT_SPEC = re.compile(r"\{([\d,\s-]+)\}")
# Hexo (and Octopress): {% blockquote [author[, source]] [link] [title] %} ... {% endblockquote %},
# {% pullquote [class] %} ... {% endpullquote %}: quotes, with their attribution.
HEXO_QUOTE = re.compile(
    r"\{%-?\s*(?P<tag>blockquote|pullquote)\b(?P<args>[^%]*)-?%\}(?P<body>.*?)\{%-?\s*end(?P=tag)\s*-?%\}",
    re.DOTALL,
)
URL_ARGUMENT = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|/)", re.IGNORECASE)
# Pelican's {static}/{filename}/{attach} and Zola's @/ name a file from the content folder.
CONTENT_LINK = re.compile(
    r"(?<=\]\()(?:\{(?:static|filename|attach)\}|@(?=/))|(?<=src=\")\{(?:static|attach)\}"
    r"|(?<=href=\")\{(?:static|filename|attach)\}"
)


@dataclass
class Preprocessed:
    text: str
    warnings: list[str] = field(default_factory=list)


def preprocess_body(text: str, mdx: bool = False) -> Preprocessed:
    """Return Markdown that Python-Markdown renders as the original generator would."""
    result = Preprocessed("")
    out: list[str] = []
    prose: list[str] = []
    block_close = None

    def flush() -> None:
        if prose:
            out.append(_rewrite_prose("\n".join(rewrite_lines(prose, mdx)), result.warnings, mdx))
            prose.clear()

    for _, line, is_code in iter_lines(text):
        if block_close:
            if block_close.match(line):
                out.append("```")
                block_close = None
            else:
                out.append(line)
        elif is_code:
            flush()
            match = FENCE.match(line)
            out.append(_rewrite_fence(match) if match and match["info"].strip() else line)
        elif (opening := LIQUID_BLOCK_OPEN.match(line) or HUGO_BLOCK_OPEN.match(line)) is not None:
            flush()
            out.append(f"```{opening['lang']}")
            block_close = LIQUID_BLOCK_CLOSE if opening.re is LIQUID_BLOCK_OPEN else HUGO_BLOCK_CLOSE
        elif (opening := HEXO_BLOCK_OPEN.match(line)) is not None:
            flush()
            out.append(_hexo_fence(opening["args"]))
            block_close = HEXO_BLOCK_CLOSE
        else:
            prose.append(line)
    flush()
    if block_close:
        out.append("```")
        result.warnings.append("a highlight block is never closed; it runs to the end of the post")
    result.text = "\n".join(out)
    return result


def _hexo_fence(args: str) -> str:
    """{% codeblock Title lang:js %} -> ```js title="Title"."""
    lang = re.search(r"\blang:([\w+#.-]+)", args)
    title = re.sub(r"\b(?:lang|line_number|highlight|first_line|mark|wrap):\S*", "", args).strip()
    title = title.split(" http", 1)[0].strip().replace('"', "'")
    return f"```{lang[1] if lang else ''}" + (f' title="{title}"' if title else "")


def _rewrite_fence(match: re.Match) -> str:
    """```js{2,4} title="a.js" -> ```js hl_lines="2 4" title="a.js" (pymdownx.superfences' form)."""
    info = match["info"].strip()
    if info.startswith("{"):
        return match.group(0)
    lang = re.match(r"[\w+#.-]*", info).group(0)
    lines: list[int] = []
    if spec := HIGHLIGHT_SPEC.search(info):
        lines = _line_numbers(spec.group(1))
    elif hl := re.search(r"hl_lines=([\"'])(.*?)\1", info):
        lines = _line_numbers(hl.group(2).replace(" ", ","))
    suffix = f' hl_lines="{" ".join(map(str, lines))}"' if lines else ""
    if title := re.search(r"""title=(["'])(.+?)\1|:title=([^\s{]+)""", info):
        suffix += ' title="{}"'.format((title.group(2) or title.group(3)).replace('"', "'"))
    return f"{match['indent']}{match['fence']}{lang}{suffix}"


def _line_numbers(spec: str) -> list[int]:
    numbers: list[int] = []
    for part in filter(None, (part.strip() for part in spec.split(","))):
        start, _, end = part.partition("-")
        if start.isdigit() and (not end or end.isdigit()):
            numbers.extend(range(int(start), int(end or start) + 1))
    return numbers


def _rewrite_prose(text: str, warnings: list[str], mdx: bool = False) -> str:
    if mdx:
        text = rewrite_mdx(text)  # before Liquid: style={{...}} is JSX there
    text = inline_display_math(text)
    text = KRAMDOWN_TOC.sub("[TOC]", text)
    text = KRAMDOWN_OPTIONS.sub("", text)
    text = CONTENT_LINK.sub("", text)
    text = HEXO_QUOTE.sub(_hexo_quote, text)
    return INLINE.sub(lambda match: _replace(match, warnings), text)


def _replace(match: re.Match, warnings: list[str]) -> str:
    if match["code"]:
        return match["code"]
    if match["raw"]:
        return match["raw_body"]
    if match["comment"]:
        return ""
    if match["ial_gap"]:
        return ""
    if match["liquid_tag"]:
        return _liquid_tag(match["tag"], match["tag_args"].strip(), match.group(0), warnings)
    if match["liquid_out"]:
        return _liquid_output(match["out"], match.group(0), warnings)
    return _shortcode(match, warnings)


def _liquid_tag(tag: str, args: str, original: str, warnings: list[str]) -> str:
    words = _shortcode_args(args)
    if tag == "link" and len(words) > 1:  # Hexo's {% link text url [external] [title] %}
        return _hexo_link(words)
    if tag in {"post_url", "link", "post_path"}:  # Jekyll's {% link path %}, Hexo's {% post_path slug %}
        return post_path(args.split()[0]) if args else ""
    if tag == "post_link" and words:  # Hexo: {% post_link slug [text] %}; Hexo's own text is the title
        return f"[{words.get(1) or words[0].replace('-', ' ')}]({post_path(words[0])})"
    if tag in {"asset_img", "asset_path", "asset_link"} and args:
        return _hexo_asset(tag, args)
    if tag == "img" and words:
        return _hexo_img(words)
    if tag == "youtube" and words:
        return youtube(words[0])
    if tag == "vimeo" and words:
        return vimeo(words[0])
    if tag == "iframe" and words:  # embeds.py keeps an allowlisted one, else turns it into a link
        return f'\n\n<iframe src="{html.escape(words[0], quote=True)}"></iframe>\n\n'
    warnings.append(f"Liquid tag {original} has no Weeknote equivalent; left out of the page")
    return ""


def _hexo_link(words: dict) -> str:
    """{% link text url [external] [title] %}: the text is every word before the address."""
    positional = [words[key] for key in sorted(key for key in words if isinstance(key, int))]
    at = next((n for n, word in enumerate(positional) if URL_ARGUMENT.match(word)), len(positional) - 1)
    text = " ".join(positional[:at]) or positional[at]
    return f"[{text}]({positional[at]})"


def _hexo_img(words: dict) -> str:
    """{% img [class] /path [width] [height] "title 'alt'" %} (Hexo and Octopress)."""
    positional = [words[key] for key in sorted(key for key in words if isinstance(key, int))]
    at = next((n for n, word in enumerate(positional) if URL_ARGUMENT.match(word) or "." in word), 0)
    src, rest = positional[at], positional[at + 1 :]
    sizes = [word for word in rest if word.isdigit()][:2]
    title, alt = "", ""
    if texts := [word for word in rest if not word.isdigit()]:
        quoted = re.fullmatch(r"(?P<title>.*?)\s*'(?P<alt>[^']*)'\s*", texts[0])
        title, alt = (quoted["title"], quoted["alt"]) if quoted else (texts[0], texts[0])
    attributes = f' src="{html.escape(src, quote=True)}" alt="{html.escape(alt, quote=True)}"'
    for name, value in zip(("width", "height"), sizes, strict=False):
        attributes += f' {name}="{value}"'
    if title:
        attributes += f' title="{html.escape(title, quote=True)}"'
    return f"<img{attributes}>"


def _hexo_quote(match: re.Match) -> str:
    """A Hexo quote as a Markdown block quote, its attribution (author, source) as its last line."""
    lines = [f"> {line}".rstrip() for line in match["body"].strip().split("\n")]
    words = match["args"].split() if match["tag"] == "blockquote" else []
    if words:
        at = next((n for n, word in enumerate(words) if URL_ARGUMENT.match(word)), len(words))
        byline = " ".join(words[:at])
        if at < len(words):  # the source's address, then the link's own title
            link = f"[{' '.join(words[at + 1 :]) or words[at]}]({words[at]})"
            byline = f"{byline} ({link})" if byline else link
        lines += [">", f"> — {byline}"]
    return "\n\n" + "\n".join(lines) + "\n\n"


def _hexo_asset(tag: str, args: str) -> str:
    """Hexo's post asset tags name a file in the folder beside the post (files.py finds it there)."""
    name, _, title = args.partition(" ")
    title = title.strip().strip("\"'")
    if tag == "asset_path":
        return name
    if tag == "asset_link":
        return f"[{title or name}]({name})"
    return f"![{title}]({name})"


def _liquid_output(expression: str, original: str, warnings: list[str]) -> str:
    variable, _, filters = expression.partition("|")
    variable = variable.strip()
    if variable in {"site.baseurl", "site.url", "site.base_url"}:
        return ""
    if variable[:1] in "\"'" and variable[-1:] == variable[:1]:
        return variable[1:-1]  # {{ "/img/a.png" | relative_url }} -> /img/a.png
    warnings.append(f"Liquid output {original} has no Weeknote equivalent; left out of the page")
    return ""


def _shortcode(match: re.Match, warnings: list[str]) -> str:
    name = match["name"]
    if match["closing"]:
        return ""
    args = _shortcode_args(match["args"])
    positional = args.get(0, "")
    if name == "figure":
        return _figure(args)
    if name == "youtube":
        return youtube(args.get("id", positional), args.get("title", ""))
    if name == "vimeo":
        return vimeo(args.get("id", positional), args.get("title", ""))
    if name in {"relref", "ref"}:
        target, _, anchor = positional.partition("#")
        return post_path(target) + (f"#{anchor}" if anchor else "")
    if name == "gist" and len(args) >= 2:
        return f"[Gist {args[1]}](https://gist.github.com/{args[0]}/{args[1]})"
    if name == "tweet":
        user, tweet = args.get("user", ""), args.get("id", positional)
        return f"[Post on X](https://x.com/{user or 'i'}/status/{tweet})"
    warnings.append(f"Hugo shortcode '{name}' has no Weeknote equivalent; its markers were removed")
    return ""


def _shortcode_args(raw: str) -> dict:
    """Positional arguments under 0, 1, ...; named ones under their names."""
    try:
        words = shlex.split(raw)
    except ValueError:
        words = raw.split()
    args: dict = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and re.fullmatch(r"[\w-]+", key):
            args[key] = value
        else:
            args[sum(isinstance(k, int) for k in args)] = word
    return args


def _figure(args: dict) -> str:
    src = html.escape(args.get("src", ""), quote=True)
    alt = html.escape(args.get("alt", args.get("title", "")), quote=True)
    image = f'<img src="{src}" alt="{alt}">'
    if link := args.get("link"):
        image = f'<a href="{html.escape(link, quote=True)}">{image}</a>'
    caption = " ".join(filter(None, (args.get("title"), args.get("caption"))))
    figcaption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f"\n\n<figure>{image}{figcaption}</figure>\n\n"


def post_path(reference: str) -> str:
    """Map a Jekyll post_url/link or Hugo ref to the post's Weeknote URL."""
    parts = [part for part in reference.strip("\"'").split("/") if part]
    if not parts:
        return "/"
    name = parts[-1].rsplit(".", 1)[0] if "." in parts[-1] else parts[-1]
    if name in {"index", "_index"} and len(parts) > 1:
        name = parts[-2]
    return f"/posts/{slugify(DATE_PREFIX.sub('', name))}/"
