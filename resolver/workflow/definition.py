"""Reads a workflow definition from ``workflows/<name>.yaml`` into plain, frozen objects."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from functools import cache

import yaml

from ..resources import resource_dir

_DURATION = re.compile(r"^\s*(\d+)\s*(day|days|hour|hours)\s*$")


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (write '3 days' or '12 hours')")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(days=amount) if unit.startswith("day") else timedelta(hours=amount)


class Decision(StrEnum):
    """What a team member votes for, and what the team or the manager decides. The workflow file lists
    the same words under `decisions` (checked when it is read)."""

    UPHOLD = "uphold"          # the company's position stands
    RESIDENT = "resident"      # the resident's suggested resolution is granted
    COMPROMISE = "compromise"  # part of what the resident asked, item by item where there are items


@dataclass(frozen=True)
class StateDef:
    name: str
    label: str
    requires: tuple[str, ...]


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    guards: tuple[str, ...]


@dataclass(frozen=True)
class Reminder:
    before: timedelta
    email: str
    to: str


@dataclass(frozen=True)
class WindowDef:
    name: str
    due_column: str
    length: timedelta
    setting: str | None
    active_in: frozenset[str]
    reminders: tuple[Reminder, ...]
    on_due: str
    ends_before: tuple[str, timedelta] | None = None
    # The date first promised, kept when the due date moves; the due step fires at it (never moves).
    promised_column: str | None = None


@dataclass(frozen=True)
class PanelRules:
    size: int
    minimum_time: timedelta
    quorum_share: float
    majority_share: float
    tie: str
    early_close: tuple[str, ...]
    # (rule, Company column): a rule that applies only where the company's column is true.
    early_close_chosen: tuple[tuple[str, str], ...] = ()
    # How long a member may correct the vote the manager recorded for them from a team call.
    call_correction_time: timedelta = timedelta(days=2)

    def for_company(self, company) -> PanelRules:
        """The rules as they apply to ``company``: the early closes it chose added to the others."""
        chosen = tuple(rule for rule, setting in self.early_close_chosen if getattr(company, setting))
        return replace(self, early_close=self.early_close + chosen, early_close_chosen=())


@dataclass(frozen=True)
class WorkflowDef:
    name: str
    initial: str
    terminal: frozenset[str]
    states: dict[str, StateDef]
    transitions: dict[str, TransitionDef]
    windows: dict[str, WindowDef]
    groups: dict[str, frozenset[str]]
    link_grace: dict[str, timedelta]
    panel: PanelRules
    source: dict = field(repr=False, compare=False, hash=False)

    def allowed_triggers(self, state: str) -> list[str]:
        return [t.trigger for t in self.transitions.values() if state in t.sources]

    def can(self, trigger: str, state: str) -> bool:
        """Whether a dispute in this state may take this transition (guards aside)."""
        return state in self.transitions[trigger].sources

    def sources(self, trigger: str) -> frozenset[str]:
        return frozenset(self.transitions[trigger].sources)

    def group(self, name: str) -> frozenset[str]:
        return self.groups[name]

    def states_where(self, *, window: str | None = None, group: str | None = None,
                     can: str | None = None, terminal: bool | None = None) -> frozenset[str]:
        """The states that meet every condition given: the window runs in them, they belong to the
        group, the transition may leave them, they are (or are not) terminal."""
        found = set(self.states)
        if window is not None:
            found &= self.windows[window].active_in
        if group is not None:
            found &= self.groups[group]
        if can is not None:
            found &= self.sources(can)
        if terminal is not None:
            found = {s for s in found if (s in self.terminal) == terminal}
        return frozenset(found)

    def state_of(self, trigger: str) -> str:
        """The state a transition leads to."""
        return self.transitions[trigger].dest

    def label(self, state: str) -> str:
        return self.states[state].label


def _listed(value) -> tuple[str, ...]:
    return tuple(value or ())


def build_definition(raw: dict) -> WorkflowDef:
    states = {
        name: StateDef(name, spec.get("label", name.replace("_", " ")), _listed(spec.get("requires")))
        for name, spec in raw["states"].items()
    }
    terminal = frozenset(raw.get("terminal", ()))
    transitions = {}
    for trigger, spec in raw["transitions"].items():
        sources = _listed(spec["source"])
        if sources == ("*",):
            sources = tuple(s for s in states if s not in terminal)
        transitions[trigger] = TransitionDef(trigger, sources, spec["dest"], _listed(spec.get("guards")))
    windows = {}
    for name, spec in raw.get("windows", {}).items():
        ends_before = spec.get("ends_before")
        windows[name] = WindowDef(
            name=name,
            due_column=spec["due_column"],
            length=parse_duration(spec["length"]),
            setting=spec.get("setting"),
            active_in=frozenset(spec["active_in"]),
            reminders=tuple(
                Reminder(parse_duration(r["before"]), r["email"], r["to"]) for r in spec.get("reminders", ())
            ),
            on_due=spec["on_due"],
            ends_before=(ends_before["window"], parse_duration(ends_before["by"])) if ends_before else None,
            promised_column=spec.get("promised_column"),
        )
    panel = raw.get("panel", {})
    groups = {name: frozenset(members) for name, members in (raw.get("groups") or {}).items()}
    link_grace = {purpose: parse_duration(length) for purpose, length in (raw.get("links", {}).get("grace") or {}).items()}
    decisions = _listed(raw.get("decisions"))
    if decisions != tuple(Decision):
        raise ValueError(f"workflow {raw['name']!r} lists decisions {list(decisions)}; Resolver knows {[str(d) for d in Decision]}")
    definition = WorkflowDef(
        name=raw["name"],
        initial=raw["initial"],
        terminal=terminal,
        states=states,
        transitions=transitions,
        windows=windows,
        groups=groups,
        link_grace=link_grace,
        panel=PanelRules(
            size=int(panel.get("size", 3)),
            minimum_time=parse_duration(panel.get("minimum_time", "24 hours")),
            quorum_share=float(panel.get("quorum_share", 0.5)),
            majority_share=float(panel.get("majority_share", 0.5)),
            tie=panel.get("tie", "deadlocked"),
            early_close=_listed(panel.get("early_close")),
            early_close_chosen=tuple((panel.get("early_close_chosen") or {}).items()),
            call_correction_time=parse_duration(panel.get("call_correction_time", "2 days")),
        ),
        source=raw,
    )
    _check(definition)
    return definition


def _check(definition: WorkflowDef) -> None:
    """Refuse a definition that names states it does not declare."""
    known = set(definition.states)
    problems = [f"initial state {definition.initial!r}"] if definition.initial not in known else []
    for t in definition.transitions.values():
        problems += [f"{t.trigger}: unknown state {s!r}" for s in (*t.sources, t.dest) if s not in known]
    for w in definition.windows.values():
        problems += [f"window {w.name}: unknown state {s!r}" for s in w.active_in if s not in known]
        if w.ends_before and w.ends_before[0] not in definition.windows:
            problems.append(f"window {w.name}: ends before unknown window {w.ends_before[0]!r}")
    for name, members in definition.groups.items():
        problems += [f"group {name}: unknown state {s!r}" for s in sorted(members - known)]
    if problems:
        raise ValueError(f"workflow {definition.name!r} is inconsistent: " + "; ".join(problems))


@cache
def load_definition(name: str = "dispute") -> WorkflowDef:
    path = resource_dir("workflows") / f"{name}.yaml"
    with path.open(encoding="utf-8") as handle:
        return build_definition(yaml.safe_load(handle))
