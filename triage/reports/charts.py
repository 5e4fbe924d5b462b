"""Small server-side SVG charts: bars, stacked bars, lines.

Why hand-written: pages must work air-gapped and print to PDF, so no JavaScript chart library and
no CDN. Each function returns one self-contained `<svg>` string (inline it in HTML). Every chart
carries a <title> and visible value labels, so colour is never the only channel (printing in
greyscale and colour-blind readers lose nothing). Reused by the welfare pages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

RAG_COLOURS = {"green": "#2e7d32", "amber": "#f0a500", "red": "#c62828"}
PALETTE = ("#1f5fa8", "#c62828", "#f0a500", "#2e7d32", "#6a3d9a", "#555555")
FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\""

Series = tuple[str, str, Sequence[float]]  # (name, colour, values)


def nice_max(value: float, ticks: int = 4, integer: bool = False) -> float:
    """A round axis maximum at or above `value` whose `ticks` gridlines fall on round numbers
    (steps of 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x 10^k; whole steps when the data are counts)."""
    if value <= 0:
        return float(ticks) if integer else 1.0
    raw = value / ticks
    exp = 10 ** math.floor(math.log10(raw))
    step = next(s * exp for s in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if raw <= s * exp + 1e-12)
    if integer:
        step = max(1.0, math.ceil(step))
    return step * ticks


def fmt(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2f}"


def _counts(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def _open(width: int, height: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} '
            f'font-size="11">', f"<title>{escape(title)}</title>",
            f'<text x="4" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']


def _legend(parts: list[str], series: Sequence[Series], x: float, y: float) -> None:
    for name, colour, _ in series:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14:.1f}" y="{y:.1f}">{escape(name)}</text>')
        x += 22 + 7 * len(name)


def _y_axis(parts: list[str], left: float, top: float, plot_w: float, plot_h: float,
            top_value: float) -> None:
    for i in range(5):
        v = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#444">{fmt(v)}</text>')


Cap = tuple[str, float, str]  # (name, value, colour): a limit drawn across the bars


def stacked_bars(categories: Sequence[str], series: Sequence[Series], title: str,
                 width: int = 480, height: int = 260, caps: Sequence[Cap] = (),
                 unit: str = "") -> str:
    """One bar per category, segments stacked by series, total written above each bar.

    `caps` are drawn as dashed, labelled horizontal lines (the welfare charts' daily and weekly
    limits); the axis then always reaches above the highest cap, so a reader sees how far below
    (or over) the limit each bar is even when the bars are short.
    """
    left, top, right, bottom = 44.0, 52.0, (78.0 if caps else 10.0), 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s[2][i] for s in series) for i in range(len(categories))]
    if caps:
        top_value = nice_max(max([*totals, *(c[1] for c in caps)], default=0) * 1.05)
    else:
        top_value = nice_max(max(totals, default=0), integer=_counts(totals))
    suffix = f" {unit}" if unit else ""
    parts = _open(width, height, title)
    _legend(parts, series, left, 30)
    _y_axis(parts, left, top, plot_w, plot_h, top_value)
    slot = plot_w / max(1, len(categories))
    bar_w = min(46.0, slot * 0.62) if caps else slot * 0.6
    for i, cat in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for name, colour, values in series:
            v = values[i]
            if v <= 0:
                continue
            h = plot_h * v / top_value
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(cat)} {escape(name)}: {fmt(v)}'
                         f'{escape(suffix)}</title></rect>')
            if h >= 13:
                parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y + h / 2 + 4:.1f}" '
                             f'text-anchor="middle" fill="#fff">{fmt(v)}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                     f'font-weight="bold">{fmt(totals[i])}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16:.1f}" '
                     f'text-anchor="middle">{escape(cat)}</text>')
    for name, value, colour in caps:
        y = top + plot_h - plot_h * value / top_value
        label = f"{escape(name)} {fmt(value)}{escape(suffix)}"
        parts.append(f'<line class="cap" x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" '
                     f'y2="{y:.1f}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 3">'
                     f'<title>{label}</title></line>'
                     f'<text x="{left + plot_w + 4:.1f}" y="{y + 4:.1f}" fill="{colour}">'
                     f'{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(items: Sequence[tuple[str, float, str]], title: str, width: int = 480,
         unit: str = "") -> str:
    """Horizontal bars (label, value, colour), value written at each bar's end."""
    row_h, left, top = 26.0, 150.0, 24.0
    height = int(top + row_h * len(items) + 8)
    top_value = nice_max(max((v for _, v, _ in items), default=0))
    plot_w = width - left - 70
    parts = _open(width, height, title)
    for i, (label, value, colour) in enumerate(items):
        y = top + row_h * i + 4
        w = plot_w * max(0.0, value) / top_value
        parts.append(f'<text x="{left - 6:.1f}" y="{y + 13:.1f}" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{left:.1f}" y="{y:.1f}" width="{w:.1f}" height="18" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 13:.1f}">{fmt(value)}'
                     f'{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(x_labels: Sequence[str], series: Sequence[Series], title: str, width: int = 480,
          height: int = 240) -> str:
    """A line per series over shared x labels (dates); last value written at each line's end."""
    left, top, right, bottom = 44.0, 40.0, 40.0, 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s[2]]
    top_value = nice_max(max(values, default=0), integer=_counts(values))
    parts = _open(width, height, title)
    _legend(parts, series, left, 30)
    _y_axis(parts, left, top, plot_w, plot_h, top_value)
    n = len(x_labels)
    if n == 0:
        parts.append(f'<text x="{left + 8:.1f}" y="{top + plot_h / 2:.1f}" fill="#666">'
                     f'no snapshots yet</text></svg>')
        return "".join(parts)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    for name, colour, values in series:
        pts = [(px(i), top + plot_h - plot_h * v / top_value) for i, v in enumerate(values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"><title>{escape(name)}</title></polyline>')
        for x, y in pts:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        if pts:
            parts.append(f'<text x="{pts[-1][0] + 4:.1f}" y="{pts[-1][1] + 4:.1f}" '
                         f'fill="{colour}">{fmt(values[-1])}</text>')
    step = max(1, math.ceil(n / 6))
    for i in range(0, n, step):
        parts.append(f'<text x="{px(i):.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle">'
                     f'{escape(x_labels[i])}</text>')
    parts.append("</svg>")
    return "".join(parts)
