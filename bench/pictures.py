"""The bench's pictures, as SVG written by hand (no plotting library): the ratio to glibc of
each contender on each trace (bars, log scale), and throughput against N in the steady state
(lines, log-log).

Invariants: one <rect class="bar"> per measured (contender, trace) and one <circle
class="point"> per measured (contender, N), each with a <title> giving its exact figure, so the
pictures can be read by a program as well as by eye; missing cells are left out, never drawn as 0.
"""

from __future__ import annotations

import math
from html import escape

COLOURS = ("#4d4d4d", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#17becf", "#bcbd22")
FONT = 'font-family="sans-serif" font-size="11"'
TITLE_FONT = 'font-family="sans-serif" font-size="14"'


def _log_ticks(low: float, high: float) -> list[float]:
    return [10.0 ** k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def _tick_label(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _legend_width(names: list[str]) -> int:
    """Room for the legend: a swatch and the longest name (about 7 px a character)."""
    return 40 + 7 * max((len(name) for name in names), default=0)


def _legend(names: list[str], x: float, y: float) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        parts.append(f'<rect x="{x}" y="{y + 16 * index}" width="10" height="10" '
                     f'fill="{COLOURS[index % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{y + 16 * index + 9}" {FONT}>{escape(name)}</text>')
    return parts


def ratio_bars(ratios: dict[str, dict[str, float]], contenders: list[str], title: str) -> str:
    """ratios[workload][contender] = throughput / glibc's; a grouped bar chart, log scale."""
    workloads = list(ratios)
    values = [v for row in ratios.values() for v in row.values()] or [1.0]
    ticks = _log_ticks(min(values + [1.0]), max(values + [1.0]))
    low, high = math.log10(ticks[0]), math.log10(ticks[-1])
    left, top, plot_h, group_w = 60, 40, 300, 16 * len(contenders) + 12
    width = left + group_w * len(workloads) + _legend_width(contenders)
    height = top + plot_h + 110

    def y_of(value: float) -> float:
        return top + plot_h * (high - math.log10(value)) / (high - low or 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">', '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="20" {TITLE_FONT}>{escape(title)}</text>']
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{left + group_w * len(workloads)}" y1="{y:.1f}" '
                     f'y2="{y:.1f}" stroke="{"#000" if tick == 1 else "#ddd"}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
                     f'{tick:g}×</text>')
    base = y_of(1.0)
    for g, workload in enumerate(workloads):
        x0 = left + g * group_w + 6
        for c, contender in enumerate(contenders):
            value = ratios[workload].get(contender)
            if value is None:
                continue
            y = y_of(value)
            parts.append(f'<rect class="bar" x="{x0 + 16 * c}" y="{min(y, base):.1f}" '
                         f'width="14" height="{abs(base - y):.1f}" '
                         f'fill="{COLOURS[c % len(COLOURS)]}"><title>{escape(contender)} on '
                         f'{escape(workload)}: {value:.4g}× glibc</title></rect>')
        parts.append(f'<text transform="translate({x0 + group_w / 2 - 6},{top + plot_h + 8}) '
                     f'rotate(40)" {FONT}>{escape(workload)}</text>')
    parts += _legend(contenders, left + group_w * len(workloads) + 20, top)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def throughput_lines(series: dict[str, dict[int, float]], title: str) -> str:
    """series[contender][N] = calls per second; log-log lines with a point per measurement."""
    contenders = list(series)
    points = [(n, v) for row in series.values() for n, v in row.items()]
    if not points:
        points = [(1, 1.0)]
    x_ticks = _log_ticks(min(n for n, _ in points), max(n for n, _ in points))
    y_ticks = _log_ticks(min(v for _, v in points), max(v for _, v in points))
    left, top, plot_w, plot_h = 70, 40, 420, 300
    width, height = left + plot_w + _legend_width(contenders), top + plot_h + 50

    def x_of(n: float) -> float:
        lo, hi = math.log10(x_ticks[0]), math.log10(x_ticks[-1])
        return left + plot_w * (math.log10(n) - lo) / (hi - lo or 1)

    def y_of(v: float) -> float:
        lo, hi = math.log10(y_ticks[0]), math.log10(y_ticks[-1])
        return top + plot_h * (hi - math.log10(v)) / (hi - lo or 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">', '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="20" {TITLE_FONT}>{escape(title)}</text>']
    for tick in y_ticks:
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(tick):.1f}" '
                     f'y2="{y_of(tick):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y_of(tick) + 4:.1f}" text-anchor="end" {FONT}>'
                     f'{_tick_label(tick)}/s</text>')
    for tick in x_ticks:
        parts.append(f'<line x1="{x_of(tick):.1f}" x2="{x_of(tick):.1f}" y1="{top}" '
                     f'y2="{top + plot_h}" stroke="#ddd"/>')
        parts.append(f'<text x="{x_of(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'{FONT}>N = {_tick_label(tick)}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" {FONT}>'
                 'live blocks (steady state: free one at random, allocate one)</text>')
    for c, contender in enumerate(contenders):
        colour = COLOURS[c % len(COLOURS)]
        row = sorted(series[contender].items())
        if len(row) > 1:
            path = " ".join(f"{x_of(n):.1f},{y_of(v):.1f}" for n, v in row)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                         'stroke-width="2"/>')
        for n, v in row:
            parts.append(f'<circle class="point" cx="{x_of(n):.1f}" cy="{y_of(v):.1f}" r="3.5" '
                         f'fill="{colour}"><title>{escape(contender)} at N = {n}: '
                         f'{v:.4g} calls/s</title></circle>')
    parts += _legend(contenders, left + plot_w + 20, top)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
