"""Small inline-SVG charts rendered in Python (no JS, no matplotlib on the line PC).

Each function returns ``Markup`` ready for a Jinja template; every text is escaped. Values
get a ``<title>`` so hovering a point or bar shows the number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
FONT = 'font-family="sans-serif" font-size="11"'


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
                  + "".join(body) + "</svg>")


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= x (axis tops)."""
    if x <= 0:
        return 1.0
    k = 10.0 ** int(f"{x:e}".split("e")[1])
    return next(m * k for m in (1, 2, 2.5, 5, 10) if m * k >= x * (1 - 1e-12))


Box = tuple[int, int, int, int]         # left, top, width, height of the plot area


def _axes(box: Box, y_ticks: Sequence[tuple[float, str]], x_labels: Sequence[str],
          x: Callable[[int], float], max_x_labels: int = 8) -> list[str]:
    """The plot area's frame, grid lines at ``y_ticks`` (pixel, label) and some x labels."""
    left, top, pw, ph = box
    body = [f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" '
            f'stroke="#999"/>']
    for yy, label in y_ticks:
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}" '
                    f'stroke="#ddd"/><text x="{left - 4}" y="{yy + 4:.1f}" text-anchor="end" '
                    f'{FONT}>{escape(label)}</text>')
    every = max(1, -(-len(x_labels) // max_x_labels))
    for i, lab in enumerate(x_labels):
        if i % every == 0:
            body.append(f'<text x="{x(i):.1f}" y="{top + ph + 16}" text-anchor="middle" '
                        f'{FONT}>{escape(lab)}</text>')
    return body


def nice_range(lo: float, hi: float, steps: int = 4) -> tuple[float, float, float]:
    """An axis ``(bottom, top, step)`` holding ``lo..hi`` on a 1/2/2.5/5 x 10^k grid."""
    if hi - lo < 1e-9:
        lo, hi = lo - max(abs(lo) * 0.05, 0.05), hi + max(abs(hi) * 0.05, 0.05)
    step = nice_ceiling((hi - lo) / steps)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step


def line_chart(x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
               notes: Mapping[str, Sequence[str]] | None = None, percent: bool = True,
               width: int = 760, height: int = 280, title: str = "") -> Markup:
    """Lines over shared x bins; a None breaks the line (no data in that bin).

    ``notes[name][i]`` is added to the hover text of that point (e.g. "3 of 7").
    """
    left, right, top, bottom = 48, 130, 12, 40
    pw, ph = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    y_top = nice_ceiling(max(values, default=0.0) * (100 if percent else 1))
    scale = 100.0 if percent else 1.0
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (pw * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + ph * (1 - v * scale / y_top)

    ticks = [(top + ph * (1 - k / 4), f'{y_top * k / 4:g}{"%" if percent else ""}')
             for k in range(5)]
    body = _axes((left, top, pw, ph), ticks, x_labels, x)
    for si, (name, vs) in enumerate(series.items()):
        c = colour(si)
        run: list[str] = []
        for i, v in enumerate([*vs, None]):
            if v is not None:
                run.append(f"{x(i):.1f},{y(v):.1f}")
                note = f" ({notes[name][i]})" if notes and name in notes else ""
                body.append(f'<circle class="pt" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" '
                            f'fill="{c}"><title>{escape(name)} {escape(x_labels[i])}: '
                            f'{v * scale:.1f}{"%" if percent else ""}{escape(note)}</title>'
                            f'</circle>')
            elif run:
                body.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" '
                            f'points="{" ".join(run)}"/>')
                run = []
        ly = top + 14 + 16 * si
        body.append(f'<rect x="{left + pw + 12}" y="{ly - 9}" width="10" height="10" '
                    f'fill="{c}"/><text x="{left + pw + 26}" y="{ly}" {FONT}>'
                    f'{escape(name)}</text>')
    return _svg(width, height, body, title)


def control_chart(x_labels: Sequence[str], values: Sequence[float], *,
                  limits: tuple[float, float, float] | None, out: Sequence[bool],
                  links: Sequence[str] | None = None, unit: str = "mm", width: int = 760,
                  height: int = 260, title: str = "") -> Markup:
    """A Shewhart chart: the values in order, the centre line (solid) and the control limits
    ``(lcl, centre, ucl)`` (dashed); points flagged in ``out`` are red and larger.

    ``links[i]``: where clicking point ``i`` goes (its inspection).
    """
    left, right, top, bottom = 56, 92, 12, 40
    pw, ph = width - left - right, height - top - bottom
    shown = [*values, *(limits or ())] or [0.0, 1.0]
    pad = (max(shown) - min(shown)) * 0.04                   # points off the frame's edge
    lo, hi, step = nice_range(min(shown) - pad, max(shown) + pad)
    n = max(len(values), 1)

    def x(i: int) -> float:
        return left + (pw * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + ph * (hi - v) / (hi - lo)

    ticks = [(y(lo + k * step), f"{round(lo + k * step, 6):g}")
             for k in range(round((hi - lo) / step) + 1)]
    body = _axes((left, top, pw, ph), ticks, x_labels, x, max_x_labels=6)
    if limits is not None:
        for name, v in zip(("LCL", "CL", "UCL"), limits, strict=True):
            dash = "" if name == "CL" else ' stroke-dasharray="6 4"'
            c = "#2ca02c" if name == "CL" else "#d62728"
            body.append(f'<line class="{name.lower()}" x1="{left}" x2="{left + pw}" '
                        f'y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{c}" stroke-width="1.5"'
                        f'{dash}/><text x="{left + pw + 4}" y="{y(v) + 4:.1f}" fill="{c}" '
                        f'{FONT}>{name} {v:.3f}</text>')
    if values:
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        body.append(f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.2" '
                    f'points="{pts}"/>')
    for i, v in enumerate(values):
        cls, r, c = ("ooc", 4.5, "#d62728") if out[i] else ("pt", 2.5, PALETTE[0])
        note = ", out of control" if out[i] else ""
        dot = (f'<circle class="{cls}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="{r}" fill="{c}">'
               f'<title>{escape(x_labels[i])}: {v:.3f} {escape(unit)}{note}</title></circle>')
        body.append(f'<a href="{escape(links[i])}">{dot}</a>' if links else dot)
    return _svg(width, height, body, title)


def stacked_bars(stacks: Mapping[str, Mapping[str, int]], classes: Sequence[str], *,
                 width: int = 760, bar_h: int = 22, label_width: int = 70,
                 title: str = "") -> Markup:
    """One horizontal 100 % bar per row, split by class share; the count sits in the title.

    ``label_width``: room left of the bars for the row names.
    """
    left, right, top = label_width, 20, 28
    pw = width - left - right
    body = []
    for ci, cls in enumerate(classes):          # legend on top
        lx = left + ci * (pw // max(len(classes), 1))
        body.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{colour(ci)}"/>'
                    f'<text x="{lx + 14}" y="15" {FONT}>{escape(cls)}</text>')
    for ri, (row, counts) in enumerate(stacks.items()):
        total = sum(counts.values())
        yy = top + ri * (bar_h + 8)
        body.append(f'<text x="{left - 6}" y="{yy + bar_h * 0.7:.1f}" text-anchor="end" '
                    f'{FONT}>{escape(row)}</text>')
        xx = float(left)
        for ci, cls in enumerate(classes):
            n = counts.get(cls, 0)
            if not n or not total:
                continue
            w = pw * n / total
            body.append(f'<rect class="seg" x="{xx:.1f}" y="{yy}" width="{w:.1f}" '
                        f'height="{bar_h}" fill="{colour(ci)}"><title>{escape(row)} '
                        f'{escape(cls)}: {n} of {total} ({100 * n / total:.0f}%)</title></rect>')
            xx += w
    height = top + len(stacks) * (bar_h + 8) + 4
    return _svg(width, height, body, title)


def score_gauge(score: float, threshold: float, *, width: int = 360,
                title: str = "committee score") -> Markup:
    """A bar for the score with a tick at the threshold; red when the score reaches it."""
    left, right, bar_h = 8, 8, 18
    top_value = nice_ceiling(max(score, threshold, 1.0))
    pw = width - left - right

    def x(v: float) -> float:
        return left + pw * min(max(v, 0.0), top_value) / top_value

    fill = "#d62728" if score >= threshold else "#2ca02c"
    body = [f'<rect x="{left}" y="4" width="{pw}" height="{bar_h}" fill="#eee"/>',
            f'<rect class="score" x="{left}" y="4" width="{x(score) - left:.1f}" '
            f'height="{bar_h}" fill="{fill}"><title>score {score:.3f}</title></rect>',
            f'<line class="threshold" x1="{x(threshold):.1f}" x2="{x(threshold):.1f}" y1="0" '
            f'y2="{bar_h + 8}" stroke="#000" stroke-width="2"><title>threshold '
            f'{threshold:.3f}</title></line>',
            f'<text x="{left}" y="{bar_h + 20}" {FONT}>0</text>',
            f'<text x="{left + pw}" y="{bar_h + 20}" text-anchor="end" {FONT}>'
            f'{top_value:g}</text>']
    return _svg(width, bar_h + 26, body, title)


def colour_bar(stops: Sequence[str], lo: float, hi: float, *, unit: str = "mm",
               width: int = 360, title: str = "colour scale") -> Markup:
    """A horizontal gradient through ``stops`` labelled with the values at both ends."""
    offsets = "".join(f'<stop offset="{i / max(len(stops) - 1, 1):.3f}" stop-color="{c}"/>'
                      for i, c in enumerate(stops))
    body = [f'<defs><linearGradient id="cbar">{offsets}</linearGradient></defs>',
            f'<rect x="0" y="0" width="{width}" height="12" fill="url(#cbar)"/>',
            f'<text class="lo" x="0" y="26" {FONT}>{lo:.2f} {escape(unit)}</text>',
            f'<text class="hi" x="{width}" y="26" text-anchor="end" {FONT}>{hi:.2f} '
            f'{escape(unit)}</text>']
    return _svg(width, 30, body, title)
