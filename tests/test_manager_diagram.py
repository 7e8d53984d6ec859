"""The workflow diagram on the dispute page is drawn from workflows/dispute.yaml."""
from __future__ import annotations

import re
from xml.etree import ElementTree

from resolver.web.manager.diagram import workflow_svg
from resolver.workflow.definition import load_definition


def test_every_state_is_drawn_once_and_the_current_one_is_highlighted():
    workflow = load_definition("dispute")
    svg = str(workflow_svg("panel_review", workflow.allowed_triggers("panel_review")))
    ElementTree.fromstring(svg)  # well-formed
    drawn = re.findall(r'data-state="([a-z_]+)"', svg)
    assert sorted(drawn) == sorted(workflow.states)
    assert re.findall(r'class="wf-state wf-current" data-state="([a-z_]+)"', svg) == ["panel_review"]
    for state in workflow.states.values():
        assert state.label[:20].replace("'", "&#39;") in svg


def test_the_next_steps_are_drawn_in_the_accent_colour():
    workflow = load_definition("dispute")
    svg = str(workflow_svg("evidence_received", workflow.allowed_triggers("evidence_received")))
    accented = re.findall(r'stroke="#22594b" stroke-width="2.2"[^>]*><title>([a-z ]+)</title>', svg)
    assert sorted(accented) == sorted(t.replace("_", " ") for t in workflow.allowed_triggers("evidence_received")
                                      if workflow.transitions[t].dest != "evidence_received")


def test_without_a_current_state_nothing_is_highlighted():
    assert "wf-current" not in str(workflow_svg())
