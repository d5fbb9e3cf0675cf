"""Small inline SVG charts, built at render time: no JavaScript, no external requests.

Each chart is a `<figure>` holding an SVG with `role="img"` and a `<title>`, and a
visually-hidden table with the same numbers for screen readers and text browsers.
Geometry is in percentages across and pixels down, so a chart fills any width from a
phone to a wide screen without scaling its text; colours come from the page's CSS, so
charts follow the light and dark themes. Same input, same bytes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    """One bar of a chart."""

    label: str
    value: int
    href: str = ""
    """Where the bar leads (the term's page, the papers of a year); none when empty."""


COLUMN_HEIGHT = 170
"""Pixel height of a column chart: plot area plus value and axis labels."""
ROW_HEIGHT = 26
"""Pixel height of one row of a bar chart."""
MAX_AXIS_LABELS = 12
"""A column chart with more columns labels only every n-th one so labels never collide."""
LABEL_CHARS = 22
"""Bar chart labels longer than this are shortened (the table keeps them whole)."""
MIN_YEARS = 3
"""A year chart spans at least this many years, or it says too little to be shown."""


def per_year(years: Iterable[int | None]) -> list[Bar]:
    """Count per year from the first to the last year, empty years included; `None` is skipped."""
    counts = Counter(year for year in years if year is not None)
    if not counts:
        return []
    return [Bar(str(year), counts.get(year, 0)) for year in range(min(counts), max(counts) + 1)]


def year_chart(papers: Iterable, chart_id: str, title: str = "Papers per year", href: str = "") -> Markup:
    """Column chart of `papers` by the year they were published; empty when it says little: it
    would span fewer than MIN_YEARS years, or leave out most papers (those without a date).

    Undated papers cannot be placed on the axis: the caption says how many were left out. With
    `href` (a format string with `{year}`), each column links to that year's papers.
    """
    years = [paper.year for paper in papers]
    undated = years.count(None)
    bars = per_year(years)
    if len(bars) < MIN_YEARS or undated * 2 > len(years):
        return Markup("")
    if href:
        bars = [Bar(bar.label, bar.value, href.format(year=bar.label) if bar.value else "") for bar in bars]
    note = f"{undated} undated paper{'s' if undated != 1 else ''} not shown" if undated else ""
    return column_chart(bars, chart_id, title, "Year", note)


def column_chart(bars: list[Bar], chart_id: str, title: str, label_heading: str, note: str = "") -> Markup:
    """Vertical columns, one per bar, with the value above each and the label below."""
    if not bars:
        return Markup("")
    top, bottom = 18, COLUMN_HEIGHT - 24
    peak = max(bar.value for bar in bars) or 1
    slot = 100 / len(bars)
    every = math.ceil(len(bars) / MAX_AXIS_LABELS)
    shapes = []
    for i, bar in enumerate(bars):
        height = (bottom - top) * bar.value / peak
        centre = _n(slot * (i + 0.5))
        column = []
        if bar.value:
            column.append(
                f'<rect class="bar" x="{_n(slot * (i + 0.15))}%" y="{_n(bottom - height)}" '
                f'width="{_n(slot * 0.7)}%" height="{_n(height)}"/>'
                f'<text class="value" x="{centre}%" y="{_n(bottom - height - 5)}" '
                f'text-anchor="middle">{bar.value}</text>')
        if i % every == 0:
            column.append(f'<text x="{centre}%" y="{bottom + 17}" text-anchor="middle">{escape(bar.label)}</text>')
        shapes.append(_linked(bar, "".join(column)))
    shapes.append(f'<line class="axis" x1="0" x2="100%" y1="{bottom}.5" y2="{bottom}.5"/>')
    # Few columns would be wide slabs: cap the width at about 4rem per column.
    width = f'{max(4 * len(bars), 16)}rem'
    return _figure(bars, chart_id, title, label_heading, "columns", COLUMN_HEIGHT, shapes, width, note)


def bar_chart(bars: list[Bar] | list[tuple], chart_id: str, title: str,
              label_heading: str) -> Markup:
    """Horizontal bars, one row per bar, label on the left and value after the bar; each row
    links to its bar's `href` when it has one."""
    bars = [bar if isinstance(bar, Bar) else Bar(*bar) for bar in bars]
    if not bars:
        return Markup("")
    peak = max(bar.value for bar in bars) or 1
    shapes = []
    for i, bar in enumerate(bars):
        y = i * ROW_HEIGHT
        label = bar.label if len(bar.label) <= LABEL_CHARS else bar.label[:LABEL_CHARS - 1].rstrip() + "…"
        length = 85 * bar.value / peak
        # The whole row is the link's target: a hidden full-width box under the label and bar.
        target = f'<rect class="target" x="0" y="{y}" width="100%" height="{ROW_HEIGHT}"/>' if bar.href else ""
        shapes.append(_linked(bar,
            f'{target}<text x="0" y="{y + 17}">{escape(label)}</text>'
            f'<svg x="42%" width="58%" class="bars">'
            f'<rect class="bar" x="0" y="{y + 5}" width="{_n(length)}%" height="{ROW_HEIGHT - 10}"/>'
            f'<text class="value" x="{_n(length)}%" dx="6" y="{y + 17}">{bar.value}</text></svg>'))
    return _figure(bars, chart_id, title, label_heading, "rows", ROW_HEIGHT * len(bars), shapes)


def _linked(bar: Bar, shapes: str) -> str:
    """`shapes` in a link to the bar's `href`, named for readers of the page (its label and value)."""
    if not bar.href:
        return shapes
    name = f"{bar.label}: {bar.value} paper{'s' if bar.value != 1 else ''}"
    return f'<a href="{escape(bar.href)}" aria-label="{escape(name)}">{shapes}</a>'


def _figure(bars: list[Bar], chart_id: str, title: str, label_heading: str, kind: str,
            height: int, shapes: list[str], max_width: str = "", note: str = "") -> Markup:
    """The chart in a figure with its caption (and `note`) and the numbers as a table."""
    ident = "chart-" + re.sub(r"[^A-Za-z0-9_-]+", "-", chart_id)
    rows = "".join(f"<tr><th scope=\"row\">{escape(bar.label)}</th><td>{bar.value}</td></tr>" for bar in bars)
    role = "" if any(bar.href for bar in bars) else ' role="img"'
    summary = f"{title} (chart; the table that follows has the numbers)"
    caption = escape(title) + (Markup(' <span class="chart-note">({})</span>').format(note) if note else "")
    style = f' style="max-width: {max_width}"' if max_width else ""
    return Markup(
        f'<figure class="chart chart-{kind}">'
        f'<figcaption>{caption}</figcaption>'
        # A chart of links is not an image: its links (each named by its label and value) are
        # for the reader to use.
        f'<svg{role} aria-labelledby="{ident}-title" width="100%" '
        f'height="{height}"{style}>'
        f'<title id="{ident}-title">{escape(summary)}</title>'
        f'{"".join(shapes)}</svg>'
        # in a div: a table ignores the 1px box of .visually-hidden and would widen the page
        f'<div class="visually-hidden"><table><caption>{caption}</caption>'
        f'<thead><tr><th scope="col">{escape(label_heading)}</th><th scope="col">Papers</th></tr></thead>'
        f'<tbody>{rows}</tbody></table></div>'
        f'</figure>')


def _n(x: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros: stable across platforms."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"
