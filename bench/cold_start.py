"""Cold start: how long ``resolver --help`` takes, from starting Python to the list of commands.

Each run is a new ``python -m resolver --help`` process with an instance folder that does not exist
yet (as on a new machine). Listing the commands builds no app, so the folder must still not exist
afterwards; the run says so. Beside it, a bare ``python -c pass`` on the same interpreter: what
starting Python costs on this machine at this moment, which no change to Resolver can remove.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .common import ROOT, median, row

NAME = "cold_start"


def _timed_process(args: list[str], folder: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process running ``args`` to its end."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
    environment.update(PYTHONPATH=str(ROOT), RESOLVER_INSTANCE_PATH=str(folder / "instance"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=folder, env=environment, check=True, stdout=subprocess.DEVNULL, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(quick: bool, workdir: Path) -> list[dict]:
    repeats = 3 if quick else 15
    workdir.mkdir(parents=True, exist_ok=True)
    _timed_process([sys.executable, "-m", "resolver", "--help"], workdir)  # warm: the files in the page cache
    helps, bare = [], []
    for _ in range(repeats):  # alternately, so a change in the machine's speed touches both alike
        helps.append(_timed_process([sys.executable, "-m", "resolver", "--help"], workdir))
        bare.append(_timed_process([sys.executable, "-c", "pass"], workdir))
    wall, cpu = median([w for w, _ in helps]), median([c for _, c in helps])
    built_nothing = not (workdir / "instance").exists()
    load = os.getloadavg()[0]
    return [
        # Compared with the baseline by its CPU time: on a busy machine the wall time is mostly waiting
        # for a core, which the run's in-process reference does not feel.
        row(NAME, "resolver --help", wall, "s", target="<= 0.3", met=wall <= 0.3, better=None,
            note=f"median of {repeats} new processes; instance folder left uncreated: "
                 f"{'yes' if built_nothing else 'NO'}; load average {load:.1f} as it ran"),
        row(NAME, "resolver --help, CPU", cpu, "s", note="user + system time of the process"),
        row(NAME, "python -c pass", median([w for w, _ in bare]), "s", better=None,
            note=f"starting Python alone; CPU {median([c for _, c in bare]):.3f} s"),
    ]
