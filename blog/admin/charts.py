"""Charts as inline SVG, built on the server: numbers in, markup out, no script.

Colours come from CSS classes (which use the site's colour variables), never from
style attributes, so a chart follows light and dark mode and the console's CSP.
Every piece of text is escaped: labels may come from anything the author typed.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 56, 16, 36  # room for the axes and the week labels


@dataclass(frozen=True)
class WeeklySeries:
    """One label per week, bars up and down, and a line; the names are used in the tooltips."""

    labels: Sequence[str]
    up: Sequence[int]  # bars above the baseline (new subscribers)
    down: Sequence[int]  # bars below it (unsubscribes)
    line: Sequence[int]  # on the right-hand scale (active subscribers)
    up_name: str = "New subscribers"
    down_name: str = "Unsubscribed"
    line_name: str = "Active subscribers"


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A whole step of 1, 2 or 5 times a power of ten that covers maximum in about `ticks` steps."""
    raw = max(maximum, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return max(1, int(factor * magnitude))
    raise AssertionError("10 times the magnitude covers raw")  # pragma: no cover


def nice_ceiling(maximum: int) -> tuple[int, int]:
    """(top, step): the axis top at a whole number of steps at or above maximum, at least one step."""
    step = nice_step(maximum)
    return max(step, math.ceil(maximum / step) * step), step


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _text(x: float, y: float, content: object, css: str, anchor: str = "middle") -> str:
    return (
        f'<text class="{escape(css)}" x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}">'
        f"{escape(str(content))}</text>"
    )


def weekly_chart(series: WeeklySeries, title: str, description: str, id_prefix: str) -> Markup:
    """An accessible bar-and-line SVG: role=img named by its <title> and <desc>, scaling to any width."""
    count = len(series.labels)
    if not (count == len(series.up) == len(series.down) == len(series.line)):
        raise ValueError("every series needs one value per label")
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    up_top, up_step = nice_ceiling(max(series.up, default=0))
    down_max = max(series.down, default=0)
    down_top, down_step = nice_ceiling(down_max) if down_max else (0, 1)
    # The baseline splits the plot in proportion to the tallest bar each way.
    per_unit = plot_height / (up_top + down_top)
    baseline = TOP + up_top * per_unit
    line_top, line_step = nice_ceiling(max(series.line, default=0))
    line_unit = (baseline - TOP) / line_top
    slot = plot_width / max(count, 1)
    bar_width = slot * 0.56
    title_id, desc_id = escape(f"{id_prefix}-title"), escape(f"{id_prefix}-desc")

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        '<g class="chart-grid">',
    ]
    for value in [*range(up_step, up_top + 1, up_step), *range(-down_step, -down_top - 1, -down_step)]:
        y = baseline - value * per_unit
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_number(y)}" y2="{_number(y)}"/>')
    parts.append("</g>")
    parts.append('<g class="chart-axis">')
    for value in [*range(0, up_top + 1, up_step), *range(-down_step, -down_top - 1, -down_step)]:
        parts.append(_text(LEFT - 6, baseline - value * per_unit + 4, abs(value), "chart-tick", "end"))
    for value in range(0, line_top + 1, line_step):
        y = baseline - value * line_unit + 4
        parts.append(_text(WIDTH - RIGHT + 6, y, value, "chart-tick chart-tick-line", "start"))
    parts.append("</g>")

    parts.append('<g class="chart-bars">')
    for index, (label, up, down) in enumerate(zip(series.labels, series.up, series.down, strict=True)):
        x = LEFT + slot * index + (slot - bar_width) / 2
        height = up * per_unit
        parts.append(
            f'<rect class="chart-bar" x="{_number(x)}" y="{_number(baseline - height)}" '
            f'width="{_number(bar_width)}" height="{_number(height)}">'
            f"<title>{escape(f'{label}: {up} {series.up_name.lower()}')}</title></rect>"
        )
        if down:
            parts.append(
                f'<rect class="chart-bar-down" x="{_number(x)}" y="{_number(baseline)}" '
                f'width="{_number(bar_width)}" height="{_number(down * per_unit)}">'
                f"<title>{escape(f'{label}: {down} {series.down_name.lower()}')}</title></rect>"
            )
    parts.append("</g>")
    y = _number(baseline)
    parts.append(f'<line class="chart-baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>')

    points = [
        (LEFT + slot * index + slot / 2, baseline - value * line_unit)
        for index, value in enumerate(series.line)
    ]
    if points:
        coordinates = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
        parts.append(f'<polyline class="chart-line" fill="none" points="{coordinates}"/>')
    parts.append('<g class="chart-points">')
    for (x, y), label, value in zip(points, series.labels, series.line, strict=True):
        parts.append(
            f'<circle class="chart-point" cx="{_number(x)}" cy="{_number(y)}" r="3.5">'
            f"<title>{escape(f'{label}: {value} {series.line_name.lower()}')}</title></circle>"
        )
    parts.append("</g>")

    parts.append('<g class="chart-labels">')
    for index, label in enumerate(series.labels):
        # Every other label is dropped on a narrow screen (CSS), newest week always kept.
        css = "chart-label" + (" chart-label-alt" if (count - 1 - index) % 2 else "")
        parts.append(_text(LEFT + slot * index + slot / 2, HEIGHT - BOTTOM + 22, label, css))
    parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
