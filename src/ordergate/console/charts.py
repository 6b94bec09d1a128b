"""Charts drawn on the server as SVG: no JavaScript, no library, readable without styles.

Every bar carries a ``<title>`` (a tooltip, and what a screen reader says), and pages put
the same figures in a table beside the chart.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 44, 28, 12


def _nice_ceiling(value: int) -> int:
    """The top of the scale: 1, 2 or 5 times a power of ten, at least ``value``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(title: str, points: Sequence[tuple[str, int]]) -> Markup:
    """A vertical bar chart of ``(label, value)`` pairs, labels under the bars."""
    top = _nice_ceiling(max((v for _, v in points), default=0) or 1)
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = (WIDTH - MARGIN_LEFT) / max(len(points), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = MARGIN_TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{int(top * fraction)}</text>"
        )
    every = max(1, len(points) // 7)  # at most about seven labels, so they never overlap
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = MARGIN_LEFT + i * slot + slot * 0.15
        y = MARGIN_TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {value}</title></rect>'
        )
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text class="axis" x="{x + slot * 0.35:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
