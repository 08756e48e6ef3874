"""reStructuredText posts (Pelican's other format), read with docutils into the Markdown pipeline.

The document's title and the field list under it (`:date:`, `:modified:`, `:tags:`, `:category:`,
`:slug:`, `:summary:`, `:status:`, `:authors:`...) become front matter, named as Pelican names
them; the body becomes HTML, which Markdown keeps as it is. So everything after (sanitising, the
files a post references, links between posts, excerpt, search) is the Markdown posts' own. Code
blocks are highlighted by Pygments, as the Markdown ones are; math comes out as MathML. Neither
`.. raw::` nor `.. include::` is read: a post cannot reach outside its own text.
"""

import io
import re

import yaml
from docutils import nodes
from docutils.core import publish_doctree, publish_parts
from docutils.parsers.rst import directives
from docutils.parsers.rst.directives.body import CodeBlock
from docutils.writers import html5_polyglot

# Sphinx's and Pelican's names for docutils' own `code` directive.
directives.register_directive("code-block", CodeBlock)
directives.register_directive("sourcecode", CodeBlock)

SETTINGS = {
    "report_level": 2,  # warnings and worse, collected below
    "halt_level": 5,  # never stop: a broken construct shows as text, with a warning
    "raw_enabled": False,
    "file_insertion_enabled": False,
    "syntax_highlight": "short",  # Pygments' short class names, which the site's stylesheet colours
    "math_output": "MathML",
    "doctitle_xform": True,
    "initial_header_level": 2,  # the post's title is the page's h1
    "input_encoding": "unicode",
    "output_encoding": "unicode",
}
CODE = re.compile(r'<pre class="code(?: [\w+#.-]+)? literal-block">(.*?)</pre>', re.DOTALL)
REPORT = re.compile(r"^<string>:(?P<line>\d+): \((?P<level>\w+)/\d\) (?P<message>.+)$", re.MULTILINE)


def rest_as_markdown(text: str) -> tuple[str, list[str]]:
    """The post as Markdown with YAML front matter (its body HTML), and what docutils warned of."""
    reports = io.StringIO()
    settings = SETTINGS | {"warning_stream": reports}
    document = publish_doctree(text, settings_overrides=settings)
    metadata: dict[str, str] = {}
    if document.get("title"):
        metadata["title"] = document["title"]
    for info in document.findall(nodes.docinfo):
        for entry in info.children:
            if isinstance(entry, nodes.field):
                name, value = entry[0].astext(), entry[1].astext()
            else:  # a bibliographic field docutils knows: date, status, author(s)...
                name, value = entry.tagname, entry.astext()
            metadata[name.strip().lower()] = " ".join(value.split())
    quiet = settings | {"report_level": 5, "warning_stream": io.StringIO()}  # warned of once, above
    body = publish_parts(text, writer=html5_polyglot.Writer(), settings_overrides=quiet)
    # A lone section title right under the title is the document's subtitle, kept apart by docutils.
    html = body["html_subtitle"] + body["body"]
    html = CODE.sub(r'<div class="highlight"><pre>\1</pre></div>', html)  # as Markdown's code is
    warnings = [
        f"reStructuredText, line {found['line']}: {found['message']}"
        for found in REPORT.finditer(reports.getvalue())
    ]
    front = yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False) if metadata else ""
    return f"---\n{front}---\n\n{html.strip()}\n", warnings
