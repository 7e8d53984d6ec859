"""Worker memory: a worker's resident memory after 10,000 disputes moved through it, beside after 1,000.

The disputes are made with set-based SQL (SQLite), all waiting for the resident's side with the
deadline passed. A worker in its own process then runs its rounds (``resolver.worker.run_round``,
as ``resolver worker`` does): each due deadline lapses its dispute through the verb, which writes the
history and queues the manager's email; the same rounds send the email to a local aiosmtpd. The
worker's RSS (from /proc) is read when 1,000 disputes have lapsed and their mail has gone, and again
at 10,000. Growth between the two would mean something keeps rows or caches per dispute.
"""
from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from .common import make_app, row, smtp_sink, sqlite_url

NAME = "worker_memory"


def seed(path: str, disputes: int) -> None:
    """``disputes`` disputes past their evidence deadline, each with its pending deadline timer."""
    from .deadline_sweep import seed_sqlite

    seed_sqlite(path, disputes, due_every=1)


def _worker(url: str, workdir: str, port: int, checkpoints: list[int], results) -> None:
    try:
        _work(url, workdir, port, checkpoints, results)
    except BaseException as error:  # the parent is waiting: tell it why there is nothing more
        results.put(("error", f"{type(error).__name__}: {error}"))
        raise


def _work(url: str, workdir: str, port: int, checkpoints: list[int], results) -> None:
    from resolver.extensions import db
    from resolver.models import Dispute
    from resolver.worker import run_round

    from .common import rss_bytes

    app = make_app(Path(workdir), url, mail_port=port, create=False)
    app.config.update(DEADLINE_BATCH=200, OUTBOX_BATCH=100)
    lapsed, sent, marks = 0, 0, list(checkpoints)
    start = time.perf_counter()
    while marks:
        done = run_round(app)
        lapsed += done.fired
        sent += done.sent
        while marks and lapsed >= marks[0] and sent >= marks[0]:
            with app.app_context():
                moved = db.session.scalar(db.select(db.func.count()).select_from(Dispute)
                                          .where(Dispute.state == "lapsed"))
                db.session.remove()
            results.put((marks.pop(0), moved, rss_bytes(), time.perf_counter() - start))
        if marks and done.is_idle:
            raise RuntimeError(f"the worker ran out of work at {lapsed} disputes")
    results.put(None)


def run(quick: bool, workdir: Path) -> list[dict]:
    small, large = (20, 100) if quick else (1000, 10_000)
    url = sqlite_url(workdir)
    app = make_app(workdir, url)
    with app.app_context():
        from resolver.extensions import db

        db.engine.dispose()
    seed(url.removeprefix("sqlite:///"), large)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    readings = {}
    with smtp_sink() as port:
        process = context.Process(target=_worker, args=(url, str(workdir / "worker"), port, [small, large], results))
        process.start()
        try:
            while (reading := results.get(timeout=1800)) is not None:
                if reading[0] == "error":
                    raise RuntimeError(f"the worker failed: {reading[1]}")
                mark, moved, rss, elapsed = reading
                readings[mark] = (moved, rss, elapsed)
        finally:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
    (moved_small, rss_small, _), (moved_large, rss_large, elapsed) = readings[small], readings[large]
    growth = rss_large / rss_small - 1
    return [
        row(NAME, f"RSS after {small:,} disputes", rss_small / 2**20, "MiB",
            note=f"read once {small:,} emails were sent; {moved_small:,} disputes had lapsed by then"),
        row(NAME, f"RSS after {large:,} disputes", rss_large / 2**20, "MiB",
            note=f"{moved_large:,} lapsed and their emails sent in {elapsed:.0f} s"),
        # Near zero, a ratio to the baseline's growth says nothing: the target guards it.
        row(NAME, "growth", growth * 100, "%", target="<= 10", met=growth <= 0.10, better=None),
    ]
