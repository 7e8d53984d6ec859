"""What the benchmarks share: rows, timing, a Resolver app on a fresh database, a throw-away
PostgreSQL server, and seeding a company with the people a dispute needs."""
from __future__ import annotations

import atexit
import gc
import os
import socket
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Which way a figure is better, from its unit; a ratio ("x") says so itself, when it is watched.
LOWER_IS_BETTER = ("µs", "ms", "s", "kB", "MiB", "%", "requests")
HIGHER_IS_BETTER = ("/s",)
BY_UNIT = "by unit"


def better_way(unit: str) -> str | None:
    """"lower" or "higher" for a figure in ``unit``, or None when the unit does not say."""
    if unit.endswith(HIGHER_IS_BETTER):
        return "higher"
    if unit in LOWER_IS_BETTER or unit.startswith("µs/"):
        return "lower"
    return None


def row(benchmark: str, measure: str, value, unit: str, *, target: str | None = None, met: bool | None = None,
        note: str = "", better: str | None = BY_UNIT) -> dict:
    """One line of the results table. ``better`` ("lower" or "higher") is which way the figure
    improves, for ``python -m bench --compare``; by default the unit says (seconds lower, a rate
    higher); None leaves the figure out of the comparison."""
    if isinstance(value, float):
        value = round(value, 4 if abs(value) < 10 else 1)
    return {"benchmark": benchmark, "measure": measure, "value": value, "unit": unit, "target": target,
            "met": met, "note": note, "better": better_way(unit) if better == BY_UNIT else better}


def median(values) -> float:
    return statistics.median(values)


def timed(function, repeats: int) -> list[float]:
    """Seconds each of ``repeats`` calls of ``function`` took (collector paused while timing)."""
    times = []
    for _ in range(repeats):
        gc.disable()
        try:
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times


# PostgreSQL ------------------------------------------------------------------------------------

_server = None


def postgres_server():
    """One throw-away PostgreSQL server for the whole run (loopback only), started on first use and
    stopped when the run ends. Raises RuntimeError when PostgreSQL is not installed."""
    global _server
    if _server is None:
        from tests.pgserver import PostgresServer

        server = PostgresServer()
        server.start()
        atexit.register(server.stop)
        _server = server
    return _server


def postgres_database(name: str) -> str:
    """The SQLAlchemy URL of a new, empty database on the run's server."""
    return postgres_server().create_database(name)


def psycopg_dsn(url: str) -> str:
    """A plain libpq connection string for a ``postgresql+psycopg://`` URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"


def stop_postgres() -> None:
    global _server
    if _server is not None:
        try:
            _server.stop()
        finally:
            atexit.unregister(_server.stop)
            _server = None


# A Resolver app ----------------------------------------------------------------------------------

def make_app(workdir: Path, database_url: str, *, mail_port: int | None = None, create: bool = True):
    """A Resolver app on ``database_url`` with its instance folder under ``workdir``; tables made."""
    from resolver import create_app
    from resolver.extensions import db

    workdir.mkdir(parents=True, exist_ok=True)
    app = create_app({
        "INSTANCE_PATH": str(workdir / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "benchmark-secret",
        "PUBLIC_BASE_URL": "http://resolver.bench",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": mail_port or 2525,
    })
    if create:
        with app.app_context():
            db.create_all()
    return app


def sqlite_url(folder: Path, name: str = "resolver.db") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def seed_company(panel_size: int = 5, tag: str = "1"):
    """A company with a manager, a supervisor, a resident in a unit and a roster of ``panel_size``.
    Runs inside an app context; commits. Returns plain ids."""
    from resolver.extensions import db
    from resolver.models import Company, PanelMember, Property, Resident, StaffUser, Unit

    company = Company(
        name=f"Aspen Property Co {tag}", slug=f"aspen-bench-{tag}", time_zone="America/Denver",
        supervisor_name="Sam Supervisor", supervisor_email=f"supervisor{tag}@aspen.test",
        supervisor_phone="303-555-0100", home_office_phone="303-555-0199", contact_email=f"office{tag}@aspen.test",
        contact_phone="303-555-0123", mediation_service_name="Front Range Tenant-Landlord Mediation",
        mediation_service_contact="mediation.test, 303-555-0150", panel_size=panel_size,
    )
    db.session.add(company)
    db.session.flush()
    manager = StaffUser(company_id=company.id, email=f"manager{tag}@aspen.test", name="Morgan Manager", role="manager")
    supervisor = StaffUser(company_id=company.id, email=f"boss{tag}@aspen.test", name="Sam Supervisor",
                           role="supervisor")
    prop = Property(company_id=company.id, name="Willow Court", portfolio="North", address="1 Willow Court")
    db.session.add_all([manager, supervisor, prop])
    db.session.flush()
    unit = Unit(property_id=prop.id, label="4B")
    db.session.add(unit)
    db.session.flush()
    resident = Resident(company_id=company.id, unit_id=unit.id, name="Tammy Rivera", email=f"tammy{tag}@mail.test",
                        phone="303-555-0142")
    db.session.add(resident)
    members = [
        PanelMember(company_id=company.id, name=f"Panelist {i + 1}", email=f"panelist{i + 1}-{tag}@peers.test",
                    organisation=f"Peer Management {i + 1}")
        for i in range(panel_size)
    ]
    db.session.add_all(members)
    db.session.commit()
    return {"company": company.id, "manager": manager.id, "supervisor": supervisor.id, "resident": resident.id,
            "unit": unit.id, "members": [m.id for m in members]}


@contextmanager
def no_pdf():
    """Letters sent without WeasyPrint (measured apart, in letter_render): a fixed small PDF instead."""
    from resolver.services.outcome import sending

    real = sending.html_to_pdf
    sending.html_to_pdf = lambda html: b"%PDF-1.7\n% letter measured apart\n%%EOF\n"
    try:
        yield
    finally:
        sending.html_to_pdf = real


def rss_bytes() -> int:
    """This process's resident memory, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def cpu_info() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model}


# A local SMTP server --------------------------------------------------------------------------

def _smtp_sink(port_queue, stop) -> None:
    import socket

    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    port_queue.put(port)
    stop.wait()
    controller.stop()


@contextmanager
def smtp_sink():
    """A real aiosmtpd server on loopback, in its own process (as a mail server would be), that
    accepts every message and keeps none. Yields its port."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    process = context.Process(target=_smtp_sink, args=(ports, stop), daemon=True)
    process.start()
    try:
        yield ports.get(timeout=60)
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def free_port() -> int:
    """A loopback port nothing listens on now, for a server a benchmark starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
