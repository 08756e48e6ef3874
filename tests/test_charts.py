"""The SVG chart builder: well-formed, named for screen readers, escaped, styled only by classes."""

import re
import xml.etree.ElementTree as ET

import pytest

from blog.admin.charts import WeeklySeries, nice_ceiling, nice_step, weekly_chart

SVG = "{http://www.w3.org/2000/svg}"
LABELS = [f"{day} Nov" for day in range(1, 13)]


def chart(up=None, down=None, line=None, labels=LABELS, title="Subscribers", description="Grew."):
    count = len(labels)
    series = WeeklySeries(
        labels=labels,
        up=up if up is not None else [0] * count,
        down=down if down is not None else [0] * count,
        line=line if line is not None else [0] * count,
    )
    return weekly_chart(series, title=title, description=description, id_prefix="growth")


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def test_a_chart_has_one_bar_and_one_label_per_week_and_a_line():
    root = parse(chart(up=list(range(12)), down=[1] * 12, line=list(range(100, 112))))
    bars = root.findall(f".//{SVG}rect[@class='chart-bar']")
    assert len(bars) == 12
    labels = [text.text for text in root.iter(f"{SVG}text") if "chart-label" in text.get("class")]
    assert labels == LABELS
    assert len(root.findall(f".//{SVG}rect[@class='chart-bar-down']")) == 12
    points = root.find(f".//{SVG}polyline").get("points").split()
    assert len(points) == 12
    tooltips = [title.text for title in root.iter(f"{SVG}title")]
    assert "12 Nov: 11 new subscribers" in tooltips and "12 Nov: 111 active subscribers" in tooltips


def test_the_chart_is_an_image_named_by_its_title_and_description():
    root = parse(
        chart(title="Subscribers over 12 weeks", description="Active subscribers grew from 120 to 164.")
    )
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Subscribers over 12 weeks"
    assert root.find(f"{SVG}desc").get("id") == desc_id
    assert root.find(f"{SVG}desc").text == "Active subscribers grew from 120 to 164."


def test_the_chart_scales_to_its_container():
    root = parse(chart())
    assert root.get("viewBox") == "0 0 720 320"
    assert root.get("width") == "100%"
    assert root.get("height") is None  # the CSS keeps the aspect ratio


def test_colours_come_from_classes_never_style_attributes_and_there_is_no_script():
    markup = str(chart(up=[3] * 12, down=[1] * 12, line=[5] * 12))
    root = parse(markup)
    for element in root.iter():
        assert "style" not in element.attrib, element.tag
        assert "fill" not in element.attrib or element.get("fill") == "none", element.tag
        assert "stroke" not in element.attrib, element.tag
        assert not any(name.startswith("on") for name in element.attrib), element.tag
    assert "<script" not in markup.lower()
    assert "<style" not in markup.lower()


def test_every_text_is_escaped():
    hostile = "<script>alert(1)</script> & co"
    markup = str(chart(labels=[hostile] * 12, title=hostile, description=f'"{hostile}"'))
    assert "<script" not in markup
    root = parse(markup)  # still well-formed XML
    assert root.find(f"{SVG}title").text == hostile
    assert root.find(f"{SVG}desc").text == f'"{hostile}"'
    assert root.findall(f".//{SVG}text")[-1].text == hostile


def test_an_all_zero_chart_draws_flat_bars_without_dividing_by_zero():
    root = parse(chart())
    heights = {bar.get("height") for bar in root.findall(f".//{SVG}rect[@class='chart-bar']")}
    assert heights == {"0"}
    assert root.findall(f".//{SVG}rect[@class='chart-bar-down']") == []
    assert all(
        re.fullmatch(r"[\d.]+,[\d.]+", point)
        for point in root.find(f".//{SVG}polyline").get("points").split()
    )


def test_the_tallest_bar_and_highest_point_reach_their_axis_tops():
    up = [0] * 11 + [10]
    root = parse(chart(up=up, line=[0] * 11 + [20]))
    bar = root.findall(f".//{SVG}rect[@class='chart-bar']")[-1]
    ticks = [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "chart-tick"]
    assert ticks[-1] == "10"  # 0, 2.. 10 on the left
    grid_top = min(float(line.get("y1")) for line in root.find(f"{SVG}g[@class='chart-grid']"))
    assert float(bar.get("y")) == pytest.approx(grid_top)
    last_point = root.findall(f".//{SVG}circle")[-1]
    assert float(last_point.get("cy")) == pytest.approx(grid_top)


def test_series_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="one value per label"):
        weekly_chart(WeeklySeries(labels=["a", "b"], up=[1], down=[0, 0], line=[1, 2]), "t", "d", "growth")


@pytest.mark.parametrize(
    "maximum, step, top",
    [(0, 1, 1), (1, 1, 1), (3, 1, 3), (7, 2, 8), (10, 5, 10), (37, 10, 40), (164, 50, 200), (999, 500, 1000)],
)
def test_axis_steps_are_round_numbers(maximum, step, top):
    assert nice_step(maximum) == step
    assert nice_ceiling(maximum) == (top, step)
