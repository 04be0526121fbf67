"""History charts: every label inside the canvas, whatever the names and numbers (issue 14).

Checked twice: on the layout (each label's measured box, for the PNG's bitmap font and
the SVG's sans-serif), and on the PNG's pixels (no text ink along the image's edges,
where a cut label leaves its ink).
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.render import chart
from tests.render.pixels import BAND, text_ink_columns

LONG_NAME = "results/very/deeply/nested/training_summary.json:" + "validation_loss_" * 8 + "end"
SERIES = {
    LONG_NAME: [12345678.1, 12345678.5, 12345678.3],
    "tiny": [1.21e-6, 1.25e-6, None],
    "huge_negative": [-1.5e21, -3e21, -2e21],
}
LABELS = ["a4d1fb0", "8f92b88", "6efb67c"]


def test_png_labels_leave_no_ink_on_the_edges() -> None:
    width, columns = text_ink_columns(chart.png(LABELS, SERIES))
    assert columns, "the chart has labels"
    assert min(columns) >= BAND and max(columns) < width - BAND


def test_values_get_the_digits_that_tell_top_from_bottom() -> None:
    for font in (chart.PNG_FONT, chart.SVG_FONT):
        first = chart.layout(LABELS, SERIES, font).panels[0]
        bottom, top = (t.text for t in first.texts[1:3])
        assert (bottom, top) == ("12345678.1", "12345678.5")


def test_a_long_name_is_cut_in_the_middle_not_at_the_edge() -> None:
    for font in (chart.PNG_FONT, chart.SVG_FONT):
        title = chart.layout(LABELS, SERIES, font).panels[0].texts[0].text
        head, _, tail = title.partition(font.ellipsis)
        assert tail and LONG_NAME.startswith(head) and LONG_NAME.endswith(tail)
        assert len(head) > 20 and len(tail) > 20


def cut_from(shown: str, full: str, ellipsis: str) -> bool:
    """``shown`` is ``full``, or its start and end around the ellipsis."""
    head, mark, tail = shown.partition(ellipsis)
    if not mark:
        return shown == full
    return full.startswith(head) and full.endswith(tail) and len(shown) < len(full) + len(mark)


label_text = st.text(
    alphabet=st.sampled_from("abcdef0123456789xyzMW_-./:@ "), min_size=1, max_size=90
)
numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1e-300, -1e300, 12345678.123456789, 1.0000000001]),
)


@st.composite
def charts(draw: st.DrawFn) -> tuple[list[str], dict[str, list[float | None]]]:
    labels = draw(st.lists(label_text, min_size=1, max_size=30))
    names = draw(st.lists(label_text, min_size=1, max_size=3, unique=True))
    size = len(labels)
    series = {n: draw(st.lists(numbers, min_size=size, max_size=size)) for n in names}
    return labels, series


@pytest.mark.parametrize("font_name", ["PNG_FONT", "SVG_FONT"])
@settings(max_examples=150, deadline=None)
@given(charts())
def test_every_label_fits_the_canvas(
    font_name: str, drawn: tuple[list[str], dict[str, list[float | None]]]
) -> None:
    font = getattr(chart, font_name)
    labels, series = drawn
    layout = chart.layout(labels, series, font)
    for panel in layout.panels:
        for t in panel.texts:
            assert t.left >= chart.EDGE and t.right <= layout.width - chart.EDGE, t
            assert t.top >= 0 and t.bottom <= layout.height, t
            assert t.width == font.width(t.text)
        title, bottom, top, *commits = panel.texts
        assert cut_from(title.text, panel.name, font.ellipsis)
        assert bottom.right <= layout.left and top.right <= layout.left  # left of the axis
        finite = [v for v in panel.values if v is not None]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if lo == hi or f"{lo:.12g}" != f"{hi:.12g}":
            assert bottom.text != top.text
        # commit labels: the newest always, none touching the next
        assert commits and cut_from(commits[-1].text, labels[-1], font.ellipsis)
        for a, b in itertools.pairwise(commits):
            assert a.right + chart.GAP <= b.left
        for point in panel.points:
            if point is not None:
                assert layout.left <= point[0] <= layout.right
                assert panel.axis_top - 1e-6 <= point[1] <= panel.axis_bottom + 1e-6
