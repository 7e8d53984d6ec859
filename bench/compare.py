"""The regression guard: a run's figures beside a committed baseline's, each first divided by its own
run's hello-world request (``bench/reference.py``), so a slower machine, or the same machine busier,
does not read as Resolver getting slower.

Timed figures (µs, ms, s, and rates per second) are divided by the reference; sizes, counts,
memory and ratios are compared as they are (they do not move with the machine's speed), and so are
the times that are mostly waiting rather than Resolver's work (``AS_MEASURED``). A figure
is *worse* when it moved the wrong way (up, when lower is better; down, when higher is better) by
more than the limit: ``limit=1.25`` allows 25 %.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .common import better_way
from .reference import MEASURE as REFERENCE_MEASURE
from .reference import NAME as REFERENCE

TIMED_UNITS = ("µs", "ms", "s")  # and any unit starting "µs/"; rates ("…/s") are timed too
# Times made mostly of waiting: the emulated 400 ms round trips of slow 3G, a worker woken by a
# commit in another process. A faster machine does not shorten them, so scaling them by the
# reference would call a run on a quiet machine worse.
AS_MEASURED = {"page_weight", "time_to_inbox"}


@dataclass(frozen=True)
class Worse:
    """One figure more than the limit worse than the baseline's, both divided by their reference."""

    benchmark: str
    measure: str
    baseline: float
    now: float
    unit: str
    times_worse: float
    scaled: bool = True

    def __str__(self) -> str:
        how = "after dividing by each run's hello-world request" if self.scaled else "as measured"
        return (f"{self.benchmark} / {self.measure}: {self.now:g} {self.unit} against {self.baseline:g} in the "
                f"baseline, {self.times_worse:.2f}x worse {how}")


def reference_of(result: dict) -> float:
    """The run's hello-world request, in µs; a run without one cannot be compared."""
    for row in result["rows"]:
        if row["benchmark"] == REFERENCE and row["measure"] == REFERENCE_MEASURE and _is_number(row["value"]):
            if row["value"] > 0:
                return float(row["value"])
    raise ValueError("the run has no hello-world reference (run it with the 'reference' benchmark)")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_timed(unit: str) -> bool:
    return unit in TIMED_UNITS or unit.startswith("µs/") or unit.endswith("/s")


def _direction(row: dict) -> str | None:
    """"lower", "higher" or None, as the row says (a row from before rows said: as its unit says)."""
    return row["better"] if "better" in row else better_way(row["unit"])


def _scaled(value: float, unit: str, reference_us: float) -> float:
    """The figure in hello-world requests: a time divided by the reference, a rate multiplied by it."""
    if not _is_timed(unit):
        return value
    return value * reference_us if unit.endswith("/s") else value / reference_us


def compare(result: dict, baseline: dict, limit: float = 1.25) -> tuple[list[Worse], int]:
    """The figures of ``result`` more than ``limit`` times worse than ``baseline``'s, and how many
    figures were compared (those both runs have, with a number and a direction)."""
    now_reference, base_reference = reference_of(result), reference_of(baseline)
    base_rows = {(r["benchmark"], r["measure"]): r for r in baseline["rows"]}
    worse, compared = [], 0
    for row in result["rows"]:
        base = base_rows.get((row["benchmark"], row["measure"]))
        if base is None or row["benchmark"] == REFERENCE or row["unit"] != base["unit"]:
            continue
        direction = _direction(row)
        if direction is None or not (_is_number(row["value"]) and _is_number(base["value"])):
            continue
        scaled = row["benchmark"] not in AS_MEASURED and _is_timed(row["unit"])
        if not scaled:
            now, then = row["value"], base["value"]
        else:
            now = _scaled(row["value"], row["unit"], now_reference)
            then = _scaled(base["value"], base["unit"], base_reference)
        compared += 1
        if direction == "lower":
            times = now / then if then > 0 else (1.0 if now <= 0 else float("inf"))
        else:
            times = then / now if now > 0 else (1.0 if then <= 0 else float("inf"))
        if times > limit:
            worse.append(Worse(row["benchmark"], row["measure"], base["value"], row["value"], row["unit"], times,
                               scaled))
    return worse, compared


def compare_files(result: dict, baseline_path: str | Path, limit: float) -> tuple[list[Worse], int]:
    return compare(result, json.loads(Path(baseline_path).read_text()), limit)
