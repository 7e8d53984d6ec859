"""What a person on a slow phone connection waits for: each page reached from an email (the evidence
form, its status page, the outcome, the team member's vote) and the sign-in page, and the manager's
dashboard and dispute page.

Resolver runs as deployed on one machine (`resolver serve`, waitress) on the demo company, and
chromium opens each page with its network emulated as slow 3G (400 ms latency, 400 kbit/s each way,
through the DevTools protocol). A cold visit is the first, with an empty cache; a repeat visit opens
the same page again in the same browser. Each is measured five times and the median kept: first
paint (first contentful paint), load (the load event), the bytes that came over the wire (headers
and compressed bodies) and how many requests reached the network.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from . import common

BENCHMARK = "page_weight"
PASSWORD = "benchmark-password"
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
RUNS = 5
FIRST_PAINT_MS, LOAD_MS, WIRE_KB = 550, 700, 14
CHROMIUM = os.environ.get("RESOLVER_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# First contentful paint can come after the load event: wait for it.
_TIMING = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    const paint = list.getEntries().find(entry => entry.name === 'first-contentful-paint');
    if (paint) resolve({paint: paint.startTime, load: performance.getEntriesByType('navigation')[0].loadEventEnd});
  }).observe({type: 'paint', buffered: true});
})"""


def run(quick: bool, workdir: Path) -> list[dict]:
    # As a newcomer runs it: SQLite in the instance folder, mail caught by serve; no setting from outside but
    # the catcher's port, so that a demo or another run on this machine does not hold it.
    env = {name: value for name, value in os.environ.items() if not name.startswith("RESOLVER_")}
    env.update(RESOLVER_INSTANCE_PATH=str(workdir / "instance"), RESOLVER_SECRET_KEY="bench",
               RESOLVER_DATABASE_URL=common.sqlite_url(workdir / "instance"), RESOLVER_LOG_LEVEL="WARNING",
               RESOLVER_LOCAL_MAIL_PORT=str(common.free_port()))
    for command in (["init"], ["demo", "--password", PASSWORD]):
        subprocess.run([sys.executable, "-m", "resolver", *command], env=env, check=True, capture_output=True)
    port = common.free_port()
    paths, manager = _page_paths(env)
    said = workdir / "serve.log"
    with said.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "resolver", "serve", "--port", str(port)], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(port, server, said)
        figures = _measure(f"http://127.0.0.1:{port}", paths, manager, runs=1 if quick else RUNS)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return [r for page, visits in figures.items() for r in _rows(page, visits)]


def _page_paths(env: dict) -> tuple[dict[str, str], str]:
    """The address of each page, with links issued now to the demo's residents and team members, and the
    demo manager's email."""
    from sqlalchemy import select

    from resolver import clock, create_app
    from resolver.demo import MANAGER_EMAIL
    from resolver.extensions import db
    from resolver.links import issue_link, token_for
    from resolver.models import Dispute, PanelSeat

    app = create_app({"INSTANCE_PATH": env["RESOLVER_INSTANCE_PATH"], "SECRET_KEY": env["RESOLVER_SECRET_KEY"],
                      "DATABASE_URL": env["RESOLVER_DATABASE_URL"]})
    with app.app_context():
        def in_state(state: str) -> Dispute:
            return db.session.scalars(select(Dispute).where(Dispute.state == state)).first()

        def link(dispute: Dispute, purpose: str, **whom) -> str:
            return token_for(issue_link(dispute, purpose, expires_dt=clock.now_utc() + timedelta(days=30), **whom))

        waiting, received = in_state("awaiting_evidence"), in_state("evidence_received")
        review, sent = in_state("panel_review"), in_state("outcome_sent")
        seat = db.session.scalars(select(PanelSeat).where(PanelSeat.dispute_id == review.id)).first()
        paths = {
            "evidence form": f"/r/e/{link(waiting, 'evidence', resident=waiting.resident)}",
            "evidence status": f"/r/e/{link(received, 'evidence', resident=received.resident)}/status",
            "outcome": f"/r/o/{link(sent, 'outcome', resident=sent.resident)}",
            "vote": f"/p/v/{link(review, 'vote', seat=seat)}",
            "sign-in": "/login",
            "dashboard": "/",
            "dispute page": f"/disputes/{review.id}",
        }
        manager = MANAGER_EMAIL
        db.session.commit()
    return paths, manager


def _measure(base: str, paths: dict[str, str], manager: str, runs: int) -> dict[str, dict[str, list[dict]]]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, dict[str, list[dict]]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox",
                                                                              "--disable-gpu"])
        signed_in = _signed_in_state(browser, base, manager)
        for page_name, path in paths.items():
            is_staff = page_name in ("dashboard", "dispute page")
            visits = figures.setdefault(page_name, {"cold": [], "repeat": []})
            for _ in range(runs):
                context = browser.new_context(storage_state=signed_in if is_staff else None)
                visits["cold"].append(_visit(context, base + path))
                visits["repeat"].append(_visit(context, base + path))
                context.close()
        browser.close()
    return figures


def _signed_in_state(browser, base: str, email: str) -> dict:
    """The cookies of the demo's manager, signed in through the real form (at full speed)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    state = context.storage_state()
    context.close()
    return state


def _visit(context, url: str) -> dict:
    """One page opened on the emulated slow 3G: first paint and load in ms, bytes over the wire, requests."""
    page = context.new_page()
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", SLOW_3G)
    wire = {"bytes": 0}
    asked, cached = set(), set()  # request ids: every one, and those chromium answered from its cache

    def answered(event):
        if event["response"].get("fromDiskCache") or event["response"].get("fromMemoryCache"):
            cached.add(event["requestId"])

    session.on("Network.requestWillBeSent", lambda event: asked.add(event["requestId"]))
    session.on("Network.requestServedFromCache", lambda event: cached.add(event["requestId"]))
    session.on("Network.responseReceived", answered)
    session.on("Network.loadingFinished",
               lambda event: wire.__setitem__("bytes", wire["bytes"] + event["encodedDataLength"]))
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        raise RuntimeError(f"{url} answered {response.status if response else 'nothing'}")
    timing = page.evaluate(_TIMING)
    page.close()
    return {"paint": timing["paint"], "load": timing["load"], "bytes": wire["bytes"],
            "requests": len(asked - cached)}


def _rows(page_name: str, visits: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for visit, runs in visits.items():
        paint = common.median([r["paint"] for r in runs])
        load = common.median([r["load"] for r in runs])
        kb = common.median([r["bytes"] for r in runs]) / 1000
        requests = max(r["requests"] for r in runs)
        note = f"{visit} visit, median of {len(runs)}; {requests} request{'s' * (requests != 1)} over the network"
        rows += [
            common.row(BENCHMARK, f"{page_name}, {visit}: first paint", paint, "ms",
                       target=f"<= {FIRST_PAINT_MS}", met=paint <= FIRST_PAINT_MS, note=note),
            common.row(BENCHMARK, f"{page_name}, {visit}: load", load, "ms", target=f"<= {LOAD_MS}",
                       met=load <= LOAD_MS, note=note),
            common.row(BENCHMARK, f"{page_name}, {visit}: on the wire", kb, "kB", target=f"<= {WIRE_KB}",
                       met=kb <= WIRE_KB, note=note + "; headers and compressed bodies"),
            common.row(BENCHMARK, f"{page_name}, {visit}: requests", requests, "requests",
                       target="1" if visit == "repeat" else None, met=requests == 1 if visit == "repeat" else None,
                       note="the most in any of the runs; those answered from chromium's cache not counted"),
        ]
    return rows


def _wait_for(port: int, server: subprocess.Popen, said: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"resolver serve stopped: {said.read_text().strip()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"resolver serve did not listen on port {port} within {seconds:.0f} s")
