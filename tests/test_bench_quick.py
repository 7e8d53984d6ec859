"""The benchmarks' smoke run: ``python -m bench --quick`` runs every benchmark and writes its JSON.

No target is asserted here (timings belong to BENCHMARKS.md, not to tests): only that each
benchmark ran and gave numbers.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

from .conftest import is_postgres

# The benchmarks start their own SQLite files and PostgreSQL server whichever database the suite
# runs on, so the smoke run belongs to one of the suite's two runs only.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(is_postgres(), reason="the benchmarks measure both databases in the SQLite run"),
]

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_run_writes_a_row_with_a_number_for_every_benchmark(tmp_path):
    out = tmp_path / "bench.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["quick"] is True
    assert result["machine"]["cores"] >= 1
    rows = result["rows"]
    for row in rows:
        assert set(row) == {"benchmark", "measure", "value", "unit", "target", "met", "note"}
    for name in BENCHMARKS:
        mine = [row for row in rows if row["benchmark"] == name]
        assert mine, f"no row for {name}"
        numbers = [row["value"] for row in mine if isinstance(row["value"], (int, float))]
        assert numbers, f"{name} gave no number: {mine}"
    assert "lifecycle" in finished.stdout  # the table was printed
