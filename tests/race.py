"""Many presses of one button at once, from several app processes against one PostgreSQL server: a
double-tapping phone or a retrying proxy. Each press is its own browser (its own session and page
token), drawn before the race starts; then all of them post together."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

from resolver import clock

from .test_scale_postgres import worker_environment

PRESSER = textwrap.dedent(
    """
    import json, re, sys, threading, time
    from datetime import datetime
    from pathlib import Path
    from resolver import clock, create_app

    path, now, ready, go, presses, pattern = sys.argv[1:7]
    clock.freeze(datetime.fromisoformat(now))
    app = create_app()
    browsers = []
    for suffix, form in json.loads(presses):
        browser = app.test_client()
        page = browser.get(path).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        browsers.append((browser, suffix, {**form, "csrf_token": token}))
    results, started = [], threading.Barrier(len(browsers))

    def press(browser, suffix, form):
        started.wait(timeout=60)
        response = browser.post(path + suffix, data=form)
        said = re.search(pattern, response.get_data(as_text=True))
        form.pop("csrf_token")
        results.append({"form": form, "status": response.status_code, "said": said.group(1) if said else None})

    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.005)
    threads = [threading.Thread(target=press, args=b) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    print(json.dumps(results))
    """
)


def press_at_once(app, tmp_path, smtp_port: int, path: str, presses: list[tuple[str, dict]], *, said: str,
                  processes: int = 3) -> list[dict]:
    """Post each of ``presses`` (a path suffix and a form) from each of ``processes`` app processes, all
    at once, to the page at ``path``; returns each press's status and what the page said (the first
    group of the pattern ``said``, or None)."""
    env = worker_environment(app, tmp_path, smtp_port)
    go = tmp_path / "go"
    started = [
        subprocess.Popen([sys.executable, "-c", PRESSER, path, clock.now_utc().isoformat(), str(tmp_path / f"ready{n}"),
                          str(go), json.dumps(presses), said],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(processes)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{n}").exists() for n in range(processes)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in started), \
            [p.communicate()[1][-2000:] for p in started if p.poll() is not None]
        time.sleep(0.01)
    go.touch()
    results = []
    for process in started:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-3000:]
        results += json.loads(out.strip().splitlines()[-1])
    assert len(results) == processes * len(presses)
    return results
