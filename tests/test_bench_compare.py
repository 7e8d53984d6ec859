"""The benchmarks' regression guard: ``python -m bench --compare BASELINE`` names each figure more
than the limit worse than the baseline's, after dividing both by their run's hello-world request."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import row
from bench.compare import compare

ROOT = Path(__file__).resolve().parent.parent


def run_of(hello_us: float, *rows: dict) -> dict:
    return {"rows": [row("reference", "hello-world request", hello_us, "µs"), *rows]}


BASELINE = run_of(
    100.0,
    row("letter_render", "HTML + text + PDF", 100.0, "ms"),
    row("time_to_inbox", "SQLite: median", 0.10, "s"),
    row("mail_throughput", "outbox to local aiosmtpd (SQLite)", 400.0, "emails/s"),
    row("page_weight", "vote, cold: on the wire", 5.6, "kB"),
    row("lifecycle", "PostgreSQL, 2 processes / 1", 2.0, "x", better="higher"),
    row("engine_overhead", "engine / bare", 4.0, "x", better="lower"),
    row("lifecycle", "an unwatched ratio", 1.0, "x"),  # a ratio says no direction by its unit: not compared
    row("worker_memory", "growth", 0.8, "%", better=None),  # left out on purpose
)


def test_the_same_figures_are_none_worse():
    worse, compared = compare(BASELINE, BASELINE)
    assert worse == []
    assert compared == 6  # the reference and the figure without a direction are not compared


def test_a_time_a_third_longer_is_worse_and_named():
    now = run_of(100.0, row("letter_render", "HTML + text + PDF", 135.0, "ms"))
    [figure], compared = compare(now, BASELINE)
    assert compared == 1
    assert (figure.benchmark, figure.measure) == ("letter_render", "HTML + text + PDF")
    assert figure.times_worse == pytest.approx(1.35)
    assert "letter_render / HTML + text + PDF" in str(figure)


def test_a_rate_a_third_lower_is_worse_and_a_higher_one_is_not():
    slower = run_of(100.0, row("mail_throughput", "outbox to local aiosmtpd (SQLite)", 300.0, "emails/s"))
    faster = run_of(100.0, row("mail_throughput", "outbox to local aiosmtpd (SQLite)", 4000.0, "emails/s"))
    assert [w.measure for w in compare(slower, BASELINE)[0]] == ["outbox to local aiosmtpd (SQLite)"]
    assert compare(faster, BASELINE)[0] == []


def test_a_slower_machine_is_not_a_slower_resolver():
    # Everything twice as slow, the hello-world request too: nothing is worse.
    now = run_of(200.0, row("letter_render", "HTML + text + PDF", 200.0, "ms"),
                 row("mail_throughput", "outbox to local aiosmtpd (SQLite)", 200.0, "emails/s"))
    assert compare(now, BASELINE) == ([], 2)
    # The same figures on a machine as fast as the baseline's are twice as bad.
    same_machine = run_of(100.0, row("letter_render", "HTML + text + PDF", 200.0, "ms"),
                          row("mail_throughput", "outbox to local aiosmtpd (SQLite)", 200.0, "emails/s"))
    assert len(compare(same_machine, BASELINE)[0]) == 2


def test_waiting_is_compared_as_measured():
    # The email's wait for its worker does not shrink on a quicker machine: no scaling either way.
    quick_machine = run_of(25.0, row("time_to_inbox", "SQLite: median", 0.12, "s"))
    assert compare(quick_machine, BASELINE)[0] == []
    slower_email = run_of(400.0, row("time_to_inbox", "SQLite: median", 0.2, "s"))
    assert len(compare(slower_email, BASELINE)[0]) == 1


def test_sizes_and_ratios_are_compared_as_they_are_each_its_own_way():
    # A slower reference does not excuse more bytes, nor a worse ratio.
    now = run_of(400.0, row("page_weight", "vote, cold: on the wire", 7.5, "kB"),
                 row("lifecycle", "PostgreSQL, 2 processes / 1", 1.5, "x", better="higher"),
                 row("engine_overhead", "engine / bare", 3.0, "x", better="lower"))
    worse, _ = compare(now, BASELINE)
    assert sorted(w.measure for w in worse) == ["PostgreSQL, 2 processes / 1", "vote, cold: on the wire"]


def test_the_limit_is_the_callers():
    now = run_of(100.0, row("letter_render", "HTML + text + PDF", 350.0, "ms"))
    assert len(compare(now, BASELINE, limit=3)[0]) == 1
    assert compare(now, BASELINE, limit=4)[0] == []


def test_a_run_without_its_reference_cannot_be_compared():
    with pytest.raises(ValueError, match="hello-world"):
        compare({"rows": [row("time_to_inbox", "SQLite: median", 0.1, "s")]}, BASELINE)


def test_the_command_exits_non_zero_naming_each_worse_figure(tmp_path):
    baseline, result = tmp_path / "baseline.json", tmp_path / "result.json"
    baseline.write_text(json.dumps(BASELINE))
    result.write_text(json.dumps(run_of(100.0, row("time_to_inbox", "SQLite: median", 0.5, "s"),
                                        row("page_weight", "vote, cold: on the wire", 5.0, "kB"))))
    finished = subprocess.run([sys.executable, "-m", "bench", "--compare", str(baseline), "--from", str(result)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 1
    assert "time_to_inbox / SQLite: median" in finished.stdout
    assert "page_weight" not in finished.stdout  # fewer bytes is better
    result.write_text(json.dumps(BASELINE))
    same = subprocess.run([sys.executable, "-m", "bench", "--compare", str(baseline), "--from", str(result)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "none worse" in same.stdout


def test_the_committed_baseline_has_its_reference_and_every_benchmark():
    from bench.__main__ import BENCHMARKS
    from bench.compare import reference_of

    baseline = json.loads((ROOT / "bench" / "baseline.json").read_text())
    assert reference_of(baseline) > 0
    assert {r["benchmark"] for r in baseline["rows"]} >= set(BENCHMARKS)
