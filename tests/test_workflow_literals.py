"""Rules live in workflows/: no Python module outside the workflow package names a state by its string;
code asks the definition (states_where, can, group, state_of) instead."""
from __future__ import annotations

import ast
from pathlib import Path

from resolver.workflow.definition import load_definition

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = load_definition("dispute")
NAMES = {s: "state" for s in WORKFLOW.states}
EXEMPT_FOLDERS = ("resolver/workflow/", "resolver/migrations/")
# The same word meaning something else, where it is that something else's own definition.
OTHER_MEANINGS = {
    ("resolver/models/letters.py", "draft"): "a letter's status (draft, approved, sent), not a dispute's state",
    ("resolver/services/panel/packet.py", "evidence_received"): "the date the resident's side arrived, a key of "
                                                                 "the frozen packets already stored",
}


def named_rules(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: the {NAMES[node.value]} {node.value!r}")
    return found


def test_no_module_outside_the_workflow_names_a_state():
    found = []
    for path in sorted((ROOT / "resolver").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(EXEMPT_FOLDERS):
            continue
        found += [line for line in named_rules(path)
                  if (relative, line.rsplit("'", 2)[-2]) not in OTHER_MEANINGS]
    assert not found, "ask the workflow definition instead:\n" + "\n".join(found)
