"""Small SVG charts drawn on the server (no scripts, no CDN): stacked columns and horizontal bars."""
from __future__ import annotations

import math

from flask_babel import gettext as _
from markupsafe import Markup, escape

PALETTE = ["#22594b", "#b44d12", "#3d6a9e", "#8a6d1d", "#7b4b94", "#7b8794"]
FONT = 'font-family="system-ui, sans-serif"'


def _nice_max(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis: 1, 2 or 5 times a power of ten."""
    if value <= 5:
        return 5  # five ticks of whole numbers at least
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def columns(labels: list[str], series: dict[str, list[float]], *, title: str, unit: str = "") -> Markup:
    """Stacked columns: one column per label, one colour per series, with a legend."""
    width, height, left, bottom, top = 720, 300, 44, 48, 30
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = _nice_max(max(totals, default=0))
    slot = plot_w / max(1, len(labels))
    bar = min(42, slot * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in range(6):
        value = peak * tick / 5
        y = top + plot_h - plot_h * tick / 5
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9e2ec"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" {FONT} fill="#52606d">'
                     f'{_fmt(value)}{escape(unit)}</text>')
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for colour, (name, values) in zip(PALETTE, series.items()):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(label)}: {escape(name)} {_fmt(value)}{escape(unit)}</title></rect>')
        if totals[i]:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" {FONT}>'
                         f'{_fmt(totals[i])}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                     f'{FONT} fill="#52606d">{escape(label)}</text>')
    if len(series) > 1:
        x = left
        for colour, name in zip(PALETTE, series):
            parts.append(f'<rect x="{x}" y="{height - 16}" width="12" height="12" fill="{colour}"/>'
                         f'<text x="{x + 16}" y="{height - 6}" font-size="12" {FONT}>{escape(name)}</text>')
            x += 24 + 7.2 * len(name)
    if not any(totals):
        parts.append(f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle" font-size="14" {FONT} '
                     f'fill="#52606d">{escape(_nothing_yet())}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(rows: list[tuple[str, float]], *, title: str, unit: str = "") -> Markup:
    """Horizontal bars, largest first as given."""
    row_h, left, width = 26, 180, 720
    height = max(1, len(rows)) * row_h + 12
    peak = max((value for _, value in rows), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = 6 + i * row_h
        w = (width - left - 70) * value / peak
        shown = label if len(label) <= 26 else label[:25] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12" {FONT}>{escape(shown)}</text>'
                     f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{PALETTE[0]}"/>'
                     f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12" {FONT}>{_fmt(value)}{escape(unit)}</text>')
    if not rows:
        parts.append(f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" {FONT} fill="#52606d">'
                     f'{escape(_nothing_yet())}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nothing_yet() -> str:
    """What an empty chart says, in the page's language."""
    return _("Nothing in this period yet")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or value >= 100 else f"{value:,.1f}"
