"""The workflow drawn as a Mermaid state diagram (`resolver diagram`; the README's diagram is its output)."""
from __future__ import annotations

from .definition import load_definition


def mermaid_diagram(workflow_name: str = "dispute") -> str:
    """A Mermaid state diagram of a workflow definition, transitions labelled by their trigger."""
    definition = load_definition(workflow_name)
    timed = {window.on_due: window for window in definition.windows.values()}
    lines = ["stateDiagram-v2", f"    [*] --> {definition.initial}"]
    for state in definition.states.values():
        lines.append(f"    {state.name}: {state.label}")
    for transition in definition.transitions.values():
        label = transition.trigger.replace("_", " ")
        if transition.trigger in timed:
            label += f" (when the {timed[transition.trigger].name.replace('_', '-')} window ends)"
        for source in transition.sources:
            lines.append(f"    {source} --> {transition.dest}: {label}")
    for state in sorted(definition.terminal):
        lines.append(f"    {state} --> [*]")
    return "\n".join(lines) + "\n"
