"""The workflow drawn as an SVG on the server, from ``workflows/dispute.yaml``, with one state highlighted.

States are laid out top to bottom by the longest path from the first state; a state that almost
every other state can reach (withdrawn) sits in a column of its own so its arrows do not cross the
page. The steps the dispute can take now are drawn in the accent colour.
"""
from __future__ import annotations

from functools import cache

from flask_babel import gettext as _
from markupsafe import Markup, escape

from ...workflow.definition import WorkflowDef, load_definition

NODE_W, NODE_H, LAYER_GAP, COLUMN_GAP, MARGIN = 230, 34, 58, 30, 16
SIDE_THRESHOLD = 4  # a state reached from more than this many states goes to the side column


@cache
def _layout(name: str) -> tuple[dict[str, tuple[float, float]], set[str], int, int]:
    definition: WorkflowDef = load_definition(name)
    edges = {(s, t.dest) for t in definition.transitions.values() for s in t.sources if s != t.dest}
    incoming: dict[str, set[str]] = {name: set() for name in definition.states}
    for source, dest in edges:
        incoming[dest].add(source)
    side = {name for name, sources in incoming.items() if len(sources) > SIDE_THRESHOLD}
    layer = {definition.initial: 0}
    # Longest path over the (acyclic once self-loops are dropped) graph, by relaxation.
    for _round in range(len(definition.states)):
        for source, dest in edges:
            if source in layer and dest not in side and layer.get(dest, -1) < layer[source] + 1:
                layer[dest] = layer[source] + 1
    for name in definition.states:
        layer.setdefault(name, 0)
    layers: dict[int, list[str]] = {}
    for name in definition.states:  # YAML order within a layer
        if name not in side:
            layers.setdefault(layer[name], []).append(name)
    columns = max(len(names) for names in layers.values())
    depth = max(layers) + 1
    positions = {}
    for index, names in layers.items():
        for column, name in enumerate(names):
            positions[name] = (MARGIN + column * (NODE_W + COLUMN_GAP), MARGIN + index * LAYER_GAP)
    for offset, name in enumerate(sorted(side)):
        positions[name] = (MARGIN + (columns + offset) * (NODE_W + COLUMN_GAP), MARGIN + (depth // 2) * LAYER_GAP)
    width = MARGIN * 2 + (columns + len(side)) * (NODE_W + COLUMN_GAP) - COLUMN_GAP
    height = MARGIN * 2 + depth * LAYER_GAP - (LAYER_GAP - NODE_H)
    return positions, side, width, height


def _title(definition, current: str | None) -> str:
    if current:
        return _("The dispute workflow — now %(state)s", state=definition.label(current))
    return _("The dispute workflow")


def workflow_svg(current: str | None = None, allowed: list[str] | None = None) -> Markup:
    definition = load_definition("dispute")
    positions, side, width, height = _layout(definition.name)
    allowed_dests = {definition.transitions[t].dest for t in (allowed or []) if t in definition.transitions}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="wf-title"><title id="wf-title">{escape(_title(definition, current))}</title>',
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
    ]
    drawn = set()
    for transition in definition.transitions.values():
        for source in transition.sources:
            dest = transition.dest
            if source == dest or (source, dest) in drawn:
                continue
            drawn.add((source, dest))
            is_next = source == current and transition.trigger in (allowed or [])
            parts.append(_edge(positions[source], positions[dest], dest in side, is_next, transition.trigger))
    for name, state in definition.states.items():
        x, y = positions[name]
        is_current = name == current
        fill = "#22594b" if is_current else ("#e3f4ee" if name in allowed_dests and current else "#ffffff")
        ink = "#ffffff" if is_current else "#1f2933"
        stroke = "#22594b" if is_current or name in allowed_dests else "#9aa5b1"
        label = state.label if len(state.label) <= 34 else state.label[:32] + "…"
        parts.append(
            f'<g class="wf-state{" wf-current" if is_current else ""}" data-state="{name}">'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{3 if is_current else 1.2}"/>'
            f'<text x="{x + NODE_W / 2}" y="{y + NODE_H / 2 + 4.5}" text-anchor="middle" font-size="12.5" '
            f'font-family="system-ui, sans-serif" fill="{ink}" font-weight="{700 if is_current else 400}">'
            f'{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _edge(start, end, to_side: bool, is_next: bool, trigger: str) -> str:
    (x1, y1), (x2, y2) = start, end
    colour = "#22594b" if is_next else "#9aa5b1"
    width = 2.2 if is_next else 1
    dash = "" if is_next or not to_side else ' stroke-dasharray="4 4"'
    if to_side:
        sx, sy = x1 + NODE_W, y1 + NODE_H / 2
        ex, ey = x2, y2 + NODE_H / 2
        path = f"M{sx},{sy} C{sx + 30},{sy} {ex - 40},{ey} {ex},{ey}"
    elif y2 > y1:
        sx, sy = x1 + NODE_W / 2, y1 + NODE_H
        ex, ey = x2 + NODE_W / 2, y2
        if y2 - y1 > LAYER_GAP * 1.5:  # skipping layers: bow out to the left so it does not cross boxes
            bow = x1 - 26 if x1 <= x2 else x1 + NODE_W + 26
            sx, sy = (x1, y1 + NODE_H / 2) if bow < x1 else (x1 + NODE_W, y1 + NODE_H / 2)
            ex, ey = (x2, y2 + NODE_H / 2) if bow < x2 else (x2 + NODE_W, y2 + NODE_H / 2)
            path = f"M{sx},{sy} C{bow},{sy} {bow},{ey} {ex},{ey}"
        else:
            path = f"M{sx},{sy} C{sx},{sy + 18} {ex},{ey - 18} {ex},{ey}"
    else:  # same layer or upwards
        sx, sy = x1 + NODE_W / 2, y1
        ex, ey = x2 + NODE_W / 2, y2 + NODE_H
        path = f"M{sx},{sy} C{sx},{sy - 20} {ex},{ey + 20} {ex},{ey}"
    return (f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width}"{dash} '
            f'marker-end="url(#wf-arrow)"><title>{escape(trigger.replace("_", " "))}</title></path>')
