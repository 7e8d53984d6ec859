"""The benchmarks' smoke run: ``python -m bench --quick`` runs every benchmark and writes its JSON.

No target is asserted here (timings belong to BENCHMARKS.md, not to tests): only that each
benchmark ran and gave numbers, and that none is far worse than the committed baseline
(``bench/baseline.json``, a full run) once both are divided by their run's hello-world request. The
limit is generous, ten times: the quick run's sizes are not the baseline's, its one hello-world
reference is taken at one moment while the suite's other run loads the machine unevenly (on an idle
machine some quick figures already read three times the baseline's), so only a regression of an order
of magnitude fails here; `python -m bench --compare` on a full run holds the 25 %. tests/test_bench_compare.py shows the comparison failing on a worse figure.
"""
from __future__ import annotations

import contextlib
import json
import socket
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
QUICK_LIMIT = 10


@contextlib.contextmanager
def demo_mail_catcher_port_taken():
    """The port a running demo's mail catcher holds (8025), held here as a demo on this machine would."""
    from resolver.config import Config

    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # already held: by a demo, as here
            taken.bind(("127.0.0.1", Config.LOCAL_MAIL_PORT))
            taken.listen()
        yield


def test_the_quick_run_writes_a_row_with_a_number_for_every_benchmark(tmp_path):
    out = tmp_path / "bench.json"
    with demo_mail_catcher_port_taken():
        finished = subprocess.run(
            [sys.executable, "-m", "bench", "--quick", "--out", str(out),
             "--compare", str(ROOT / "bench" / "baseline.json"), "--limit", str(QUICK_LIMIT)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
    assert "WORSE" not in finished.stdout, finished.stdout[-3000:]
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "figures compared with" in finished.stdout
    result = json.loads(out.read_text())
    assert result["quick"] is True
    assert result["machine"]["cores"] >= 1
    rows = result["rows"]
    for row in rows:
        assert set(row) == {"benchmark", "measure", "value", "unit", "target", "met", "note", "better"}
    for name in BENCHMARKS:
        mine = [row for row in rows if row["benchmark"] == name]
        assert mine, f"no row for {name}"
        numbers = [row["value"] for row in mine if isinstance(row["value"], (int, float))]
        assert numbers, f"{name} gave no number: {mine}"
    assert "lifecycle" in finished.stdout  # the table was printed
