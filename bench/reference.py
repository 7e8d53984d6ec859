"""The run's yardstick: the smallest Flask app (``bench/hello_app.py``) answering a GET through
Flask's test client, in this process. Nothing in it is Resolver's, so it moves only with the
machine's speed at the moment; ``python -m bench --compare`` divides the timed figures of a run by
this one before setting them beside the baseline's.
"""
from __future__ import annotations

import time
from pathlib import Path

from .common import median, row

NAME = "reference"
MEASURE = "hello-world request"


def run(quick: bool, workdir: Path) -> list[dict]:
    from .hello_app import app

    client = app.test_client()
    requests, rounds = (300, 5) if quick else (2000, 9)
    for _ in range(100):  # warm-up
        client.get("/")
    per_request = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            client.get("/")
        per_request.append((time.perf_counter() - started) / requests * 1e6)
    return [row(NAME, MEASURE, median(per_request), "µs",
                note=f"bench/hello_app.py through Flask's test client; median of {rounds} rounds of {requests}")]
