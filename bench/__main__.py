"""``python -m bench``: run Resolver's benchmarks, print the table, write the JSON.

    python -m bench                  # the full run (about a quarter of an hour on 2 cores)
    python -m bench --quick          # a smoke run, well under a minute
    python -m bench --only mail_throughput letter_render
    python -m bench --markdown       # also print the table as Markdown, for BENCHMARKS.md
    python -m bench --compare bench/baseline.json            # fail on a figure 25 % worse than the baseline
    python -m bench --compare bench/baseline.json --from results.json   # compare a run already made
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .common import cpu_info, row, stop_postgres
from .compare import compare_files

# In the order of the table. vote_load and pages_at_scale may be absent: a row says so.
BENCHMARKS = (
    "reference",
    "lifecycle",
    "engine_overhead",
    "deadline_sweep",
    "vote_load",
    "pages_at_scale",
    "worker_memory",
    "letter_render",
    "mail_throughput",
    "portfolio_import",
    "time_to_inbox",
    "cold_start",
    "page_weight",
)


def run_one(name: str, quick: bool, workdir: Path) -> list[dict]:
    try:
        module = importlib.import_module(f"bench.{name}")
    except ImportError as error:
        return [row(name, "not run", None, "", note=f"the benchmark could not be loaded: {error}")]
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        rows = list(module.run(quick, folder))
    except Exception as error:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        return [row(name, "failed", None, "", note=f"{type(error).__name__}: {error}"[:300])]
    print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return rows


def machine() -> dict:
    versions = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    try:
        from tests.pgserver import find_bindir

        postgres = find_bindir() / "postgres"
        versions["postgresql"] = subprocess.run([str(postgres), "--version"], capture_output=True, text=True,
                                                timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001 - PostgreSQL is optional for the listing
        pass
    versions["load_average"] = round(os.getloadavg()[0], 1)
    return {**cpu_info(), **versions, "platform": platform.platform()}


def format_value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_met(met) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def table(rows: list[dict]) -> str:
    headers = ("benchmark", "measure", "value", "unit", "target", "met")
    lines = [[r["benchmark"], r["measure"], format_value(r["value"]), r["unit"], r["target"] or "",
              format_met(r["met"])] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) if i == 2 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
            for line in lines]
    return "\n".join(out)


def markdown(rows: list[dict]) -> str:
    out = ["| benchmark | measure | value | unit | target | met | note |", "|---|---|--:|---|---|---|---|"]
    for r in rows:
        cells = [r["benchmark"], r["measure"], format_value(r["value"]), r["unit"], r["target"] or "",
                 format_met(r["met"]), (r["note"] or "").replace("|", "/")]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run Resolver's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes, well under a minute")
    parser.add_argument("--out", default="bench-results.json", help="where to write the JSON (default: %(default)s)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--compare", metavar="BASELINE",
                        help="compare the run with this baseline (e.g. bench/baseline.json); exit 1 naming each figure "
                             "worse than the limit, after dividing each run's figures by its hello-world request")
    parser.add_argument("--limit", type=float, default=1.25,
                        help="how many times worse a figure may be before --compare fails (default: %(default)s)")
    parser.add_argument("--from", dest="result", metavar="RESULT",
                        help="with --compare: compare this run's JSON instead of running the benchmarks")
    args = parser.parse_args(argv)
    if args.result:
        if not args.compare:
            parser.error("--from needs --compare")
        return report_comparison(json.loads(Path(args.result).read_text()), args.compare, args.limit)

    # The reference runs whatever --only says, so a comparison always has its yardstick.
    names = [name for name in BENCHMARKS if not args.only or name in args.only or name == "reference"]
    started = time.perf_counter()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="resolver-bench-") as folder:
        try:
            for name in names:
                print(f"running {name} ...", file=sys.stderr)
                rows += run_one(name, args.quick, Path(folder))
        finally:
            stop_postgres()
    elapsed = time.perf_counter() - started
    result = {
        "command": "python -m bench" + (" --quick" if args.quick else "")
                   + (f" --only {' '.join(args.only)}" if args.only else ""),
        "quick": args.quick,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(elapsed, 1),
        "machine": machine(),
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    if args.markdown:
        print()
        print(markdown(rows))
    print(f"\n{len(rows)} rows in {elapsed:.0f} s; written to {args.out}", file=sys.stderr)
    return report_comparison(result, args.compare, args.limit) if args.compare else 0


def report_comparison(result: dict, baseline: str, limit: float) -> int:
    """Print the figures worse than ``limit`` times the baseline's; 1 when there is any."""
    worse, compared = compare_files(result, baseline, limit)
    for figure in worse:
        print(f"WORSE: {figure}")
    print(f"{compared} figures compared with {baseline} (limit {limit:g}x): "
          + (f"{len(worse)} worse" if worse else "none worse"))
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
