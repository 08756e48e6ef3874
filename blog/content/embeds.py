"""Video embeds: iframes from an allowlist of providers kept, sandboxed and lazy; any other becomes a link.

The allowlist is also what the sanitiser lets through (an iframe `src` must match it) and what the
page's Content-Security-Policy allows as `frame-src` (platform/security.py), so a post cannot frame
anything else whichever way it is written.
"""

import html
import re
from urllib.parse import urlsplit

# Each provider: the embed address pattern, and the address Weeknote writes (YouTube without cookies).
PROVIDERS = {
    "YouTube": (
        re.compile(
            r"^(?:https?:)?//(?:www\.)?(?:youtube\.com|youtube-nocookie\.com)/embed/(?P<id>[\w-]{6,20})(?:[?#].*)?$"
        ),
        "https://www.youtube-nocookie.com/embed/{id}",
    ),
    "Vimeo": (
        re.compile(r"^(?:https?:)?//player\.vimeo\.com/video/(?P<id>\d{1,12})(?:[?#].*)?$"),
        "https://player.vimeo.com/video/{id}",
    ),
}
FRAME_HOSTS = ("https://www.youtube-nocookie.com", "https://player.vimeo.com")
SANDBOX = "allow-scripts allow-same-origin allow-presentation allow-popups"
IFRAME = re.compile(r"<iframe\b(?P<attrs>[^>]*)>(?:.*?</iframe\s*>)?", re.DOTALL | re.IGNORECASE)
ATTRIBUTE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def embed_url(src: str) -> tuple[str, str] | None:
    """(provider, the address to frame) for an allowlisted embed address, else None."""
    for provider, (pattern, template) in PROVIDERS.items():
        if match := pattern.match(src.strip()):
            return provider, template.format(id=match["id"])
    return None


def is_allowed_frame(src: str) -> bool:
    """What the sanitiser keeps as an iframe's src: only the addresses embed_url writes."""
    found = embed_url(src)
    return found is not None and found[1] == src


def video_iframe(provider: str, src: str, title: str) -> str:
    title = html.escape(title or f"Video on {provider}", quote=True)
    return (
        f'<iframe src="{src}" title="{title}" loading="lazy" sandbox="{SANDBOX}" '
        'allow="fullscreen; picture-in-picture" allowfullscreen '
        'referrerpolicy="strict-origin-when-cross-origin" width="640" height="360"></iframe>'
    )


def youtube(video: str, title: str = "") -> str:
    """A YouTube video by its id (Hugo's youtube shortcode)."""
    found = embed_url(f"https://www.youtube.com/embed/{video}")
    if found is None:
        return f"[{title or 'Watch the video on YouTube'}](https://www.youtube.com/watch?v={video})"
    return "\n\n" + video_iframe(found[0], found[1], title) + "\n\n"


def vimeo(video: str, title: str = "") -> str:
    """A Vimeo video by its id (Hugo's and Hexo's vimeo tags); embeds.py makes it safe."""
    source = html.escape(f"https://player.vimeo.com/video/{video}", quote=True)
    return f'\n\n<iframe src="{source}" title="{html.escape(title, quote=True)}"></iframe>\n\n'


def rewrite_iframes(rendered: str, warnings: list[str]) -> str:
    """Every iframe: an allowlisted video kept (sandboxed, lazy, titled), any other a link to its source."""
    if "<iframe" not in rendered.lower():
        return rendered

    def replace(match: re.Match) -> str:
        attrs = {
            m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "")
            for m in ATTRIBUTE.finditer(match["attrs"])
        }
        src = attrs.get("src", "")
        if found := embed_url(src):
            return video_iframe(found[0], found[1], attrs.get("title", ""))
        host = urlsplit(src).netloc
        if not src or urlsplit(src).scheme.lower() not in {"http", "https", ""} or not host:
            warnings.append(f"an iframe with no web address ({src or 'no src'}) was left out of the page")
            return ""
        warnings.append(f"an iframe from {host} is not an allowed embed; it is shown as a link to {src}")
        label = html.escape(attrs.get("title") or f"Embedded content from {host}")
        return f'<a href="{html.escape(src, quote=True)}">{label}</a>'

    return IFRAME.sub(replace, rendered)
