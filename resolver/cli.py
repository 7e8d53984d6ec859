"""The ``resolver`` command line (also ``flask --app wsgi ...``).

``init`` builds or upgrades the database, ``create-company`` and ``create-user`` add people, ``demo``
fills a company with disputes in every state, ``serve`` runs everything on one machine, ``worker``
and ``tick`` fire deadlines and send mail, ``diagram`` draws the workflow, ``verify-history`` checks that no
history was changed after it was written; ``backup`` and ``restore`` are in ``resolver.backup.commands``.
"""
from __future__ import annotations

import logging
import os
import re
import signal

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .backup.commands import backup, restore
from .storage.commands import require_storage, storage

ROLES = ("manager", "supervisor")


def all_commands() -> tuple[click.Command, ...]:
    """Resolver's commands. Defining them builds no app and imports no model, so `resolver --help`
    lists them at once (``resolver.__main__``); each builds the app when it runs."""
    return (init, create_company, create_user, demo, serve, worker, tick, diagram, verify_history, storage, backup,
            restore)


def register_commands(app: Flask) -> None:
    for command in all_commands():
        app.cli.add_command(command)


# Database ------------------------------------------------------------------------------------


@click.command("init")
@with_appcontext
def init() -> None:
    """Create the database, or upgrade it to the newest schema."""
    from .migrations import upgrade_database

    before, after = upgrade_database()
    url = current_app.config["DATABASE_URL"]
    if before == after:
        click.echo(f"The database is up to date (revision {after}): {url}")
    elif before is None:
        click.echo(f"Created the database (revision {after}): {url}")
    else:
        click.echo(f"Upgraded the database from revision {before} to {after}: {url}")


def _require_current_schema(*, create: bool = False) -> None:
    """Stop unless the database is at the newest schema; ``create`` makes the database when there is
    none yet (a new company's first command needs none before it)."""
    from sqlalchemy import inspect

    from .extensions import db
    from .installation import load_clock
    from .migrations import current_revision, head_revision, upgrade_database

    revision = current_revision()
    if revision is None and not inspect(db.engine).has_table("dispute"):
        if not create:
            raise click.ClickException("There is no database yet. Run `resolver init` first.")
        upgrade_database()
        click.echo(f"Created the database: {current_app.config['DATABASE_URL']}")
        revision = current_revision()
    if revision is not None and revision != head_revision():
        raise click.ClickException("The database needs an upgrade. Run `resolver init` first.")
    load_clock()  # a demo's clock may have been moved forward (`resolver tick --as-of`)


@click.command("verify-history")
@with_appcontext
def verify_history() -> None:
    """Check that every dispute's and company's history is as recorded: exits 1 and names the first
    broken link of each broken one (an event changed or removed), else exits 0."""
    from .history import verify_histories

    _require_current_schema()
    result = verify_histories()
    click.echo("\n".join(result.report()))
    if not result.is_intact:
        click.get_current_context().exit(1)


# People --------------------------------------------------------------------------------------


@click.command("create-company")
@click.option("--slug", required=True, help="Short name used on the command line, e.g. aspen.")
@click.option("--name", required=True, help="The company's name as residents know it.")
@click.option("--time-zone", prompt="Time zone the company counts deadlines in (e.g. America/Denver)",
              help="Where deadlines are counted, as the time-zone database names it (asked for when not given).")
@click.option("--supervisor-email", prompt="Email of the company's first supervisor (they choose their own password)",
              help="The first supervisor's address: an email there brings a link to choose a password "
                   "(asked for when not given).")
@click.option("--supervisor-name", prompt="Their name", help="The first supervisor's name (asked for when not given).")
@click.option("--contact-email", default="", help="The office address residents may write to.")
@with_appcontext
def create_company(slug: str, name: str, time_zone: str, supervisor_email: str, supervisor_name: str,
                   contact_email: str) -> None:
    """Add a company (a tenant) and its first supervisor, who is emailed a link to choose a password."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from .actors import Actor
    from .errors import InvalidInput
    from .extensions import db
    from .installation import public_address
    from .links import fill_public_address
    from .models import Company
    from .services.accounts import LIFETIME_WORDS, invite_staff_user

    _require_current_schema(create=True)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", slug):
        raise click.BadParameter("use lower-case letters, digits and dashes", param_hint="--slug")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{time_zone!r} is not a time zone (e.g. America/Denver)", param_hint="--time-zone")
    if db.session.scalar(db.select(Company).where(Company.slug == slug)) is not None:
        raise click.ClickException(f"There is already a company called {slug!r}.")
    company = Company(slug=slug, name=name.strip(), time_zone=time_zone, contact_email=contact_email)
    db.session.add(company)
    db.session.flush()
    try:
        invitation = invite_staff_user(Actor.system("resolver create-company"), company, name=supervisor_name,
                                       email=supervisor_email, role="supervisor")
    except InvalidInput as problem:
        db.session.rollback()
        raise click.BadParameter(problem.message, param_hint=f"--supervisor-{problem.field or 'email'}") from None
    db.session.commit()  # the company, its supervisor and the invitation, together
    user = invitation.user
    click.echo(f"Created company {company.name} ({slug}), counting deadlines in {time_zone}.")
    click.echo(f"Created supervisor {user.name} <{user.email}>, with no password: they choose their own "
               f"from the link in an email (it works for {LIFETIME_WORDS['set_password']}).")
    click.echo("The email waits to be sent: it goes out when `resolver serve`, `resolver worker` or "
               "`resolver tick` next sends mail.")
    if not current_app.config.get("MAIL_SERVER"):
        # The local Mailbox is for signed-in staff, and nobody at this company can sign in yet.
        address = public_address() or "the address `resolver serve` prints"
        click.echo(f"No mail server is set, so `resolver serve` will keep it in its local Mailbox "
                   f"(/mailbox/, once signed in). To sign in the first time, open the email's link: "
                   f"{fill_public_address(invitation.link_url, address)}")


@click.command("create-user")
@click.option("--company", "company_slug", required=True, help="The company's slug.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="manager", show_default=True)
@click.password_option(help="Asked for when not given.", confirmation_prompt=True)
@with_appcontext
def create_user(company_slug: str, email: str, name: str, role: str, password: str) -> None:
    """Add a staff member (manager or supervisor) who signs in with email and password."""
    from .actors import Actor
    from .errors import InvalidInput
    from .extensions import db
    from .models import Company, StaffUser
    from .services.people import email_problem
    from .services.staff import record_staff_event, set_password

    _require_current_schema()
    company = db.session.scalar(db.select(Company).where(Company.slug == company_slug))
    if company is None:
        raise click.ClickException(
            f"There is no company {company_slug!r}. Add it with `resolver create-company --slug {company_slug} --name ...`."
        )
    email = email.strip().lower()
    if problem := email_problem(email):
        raise click.BadParameter(f"that is not an email address: {problem}", param_hint="--email")
    if db.session.scalar(db.select(StaffUser).where(StaffUser.email == email)) is not None:
        raise click.ClickException(f"{email} already has an account.")
    user = StaffUser(company_id=company.id, email=email, name=name.strip(), role=role)
    try:
        set_password(user, password)
    except InvalidInput as problem:
        raise click.BadParameter(problem.message, param_hint="--password") from None
    db.session.add(user)
    db.session.flush()
    record_staff_event(Actor.system("resolver create-user"), user, "staff_added", email=email, role=role)
    db.session.commit()
    click.echo(f"Created {role} {user.name} <{email}> at {company.name}. They can sign in now.")


# Demo data -----------------------------------------------------------------------------------


@click.command("demo")
@click.option("--password", default=None,
              help="A new password for the demo's staff (default: a random one the first time, then unchanged).")
@with_appcontext
def demo(password: str | None) -> None:
    """Fill a demo company, Aspen Property Co, with people and disputes in every state."""
    from .demo import build_demo

    _require_current_schema()
    report = build_demo(password=password)
    for line in report.lines():
        click.echo(line)


# Running -------------------------------------------------------------------------------------


def _configure_logging(default_format: str) -> None:
    from .observability import configure_logging

    configure_logging(os.environ.get("RESOLVER_LOG_LEVEL", "INFO"), os.environ.get("RESOLVER_LOG_FORMAT", default_format))
    # The SMTP library narrates every command of every message; Resolver logs each email once.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    for chatty in ("alembic", "botocore", "boto3", "s3transfer"):  # a bucket's client narrates where it found settings
        logging.getLogger(chatty).setLevel(logging.WARNING)


@click.command("worker")
@click.option("--poll", type=float, default=None, help="Seconds to wait when there is nothing to do.")
@with_appcontext
def worker(poll: float | None) -> None:
    """Fire due deadlines, send queued email and file replies from the mailbox until stopped (SIGTERM, Ctrl-C)."""
    from .worker import Worker

    _configure_logging("json")
    require_storage()
    _require_current_schema()
    loop = Worker(current_app._get_current_object(), poll_seconds=poll)
    loop.install_signal_handlers()
    click.echo(f"Worker started (pid {os.getpid()}); waiting {loop.poll_seconds:g} s between idle rounds.")
    loop.run()
    click.echo(f"Worker stopped after {loop.rounds} rounds.")


@click.command("tick")
@click.option("--as-of", "as_of", metavar="WHEN", default=None,
              help='On a demo only: first move the instance\'s clock forward to WHEN ("in 6 days", "+6d", "+12h", '
                   'a date such as 2026-03-15), firing each deadline at its own moment on the way. Every process on '
                   'the instance (serve\'s pages and worker too) runs on the moved clock from then on. Refused on '
                   'an instance with a real company, and backwards.')
@with_appcontext
def tick(as_of: str | None) -> None:
    """One sweep of due deadlines and one batch of email, then exit (for cron); says what waits, and why.

    To rehearse the deadlines on the demo, run `resolver tick --as-of "in 2 days"` (again and again) beside
    `resolver serve`: the resident's reminder, the lapse, the 7-day reply's escalation to the supervisor
    and the last follow-up happen, and their emails arrive in serve's Mailbox.
    """
    from .rehearsal import CannotRehearse, rehearse
    from .worker import run_round

    _require_current_schema()
    app = current_app._get_current_object()
    rehearsal = None
    if as_of is not None:
        try:
            rehearsal = rehearse(as_of, limit=app.config["DEADLINE_BATCH"])
        except CannotRehearse as refusal:
            raise click.ClickException(str(refusal)) from None
        click.echo(rehearsal.moved_line())
        if not (app.config.get("MAIL_SERVER") or app.config.get("MAIL_SUPPRESS_SEND")):
            # serve's worker sends to its mail catcher within seconds; trying here would only delay them.
            click.echo(f"{rehearsal.happened_words()}; {rehearsal.emails_queued} emails queued, for `resolver "
                       "serve` to deliver to its Mailbox (no mail server is set here).")
            return
    result = run_round(app)
    if rehearsal is not None:
        click.echo(f"{rehearsal.happened_words()}; {result.sent} emails sent.{_what_waits()}")
    else:
        click.echo(f"Fired {result.fired} timers, sent {result.sent} emails.{_what_waits()}")


def _what_waits() -> str:
    """' 3 emails wait: <why>.', or '' when none waits."""
    from sqlalchemy import func, select

    from .extensions import db
    from .installation import NO_PUBLIC_ADDRESS, public_address
    from .mail import waiting_for_address
    from .models import OutboxEmail

    pending = OutboxEmail.status == "pending"
    waiting = db.session.scalar(select(func.count(OutboxEmail.id)).where(pending))
    if not waiting:
        return ""
    # The latest failure says why mail waits; an email not tried yet just waits for the next round.
    reason = db.session.scalar(select(OutboxEmail.last_error).where(pending, OutboxEmail.last_error != "")
                               .order_by(OutboxEmail.id.desc()).limit(1))
    for_address = waiting_for_address() if public_address() is None else 0
    if for_address == waiting:
        return f" {waiting} {'email' if waiting == 1 else 'emails'} with links {'waits' if waiting == 1 else 'wait'}: {NO_PUBLIC_ADDRESS}."
    said = f" {waiting} {'email waits' if waiting == 1 else 'emails wait'}"
    if for_address:
        others = f"The others: {reason}." if reason else "The others go in the next round."
        return f"{said}. {for_address} of them have links, and {NO_PUBLIC_ADDRESS}. {others}"
    return said + (f": {reason}" if reason else " for the next round.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="How many requests the web server answers at once.")
@with_appcontext
def serve(host: str, port: int, threads: int) -> None:
    """Run Resolver on this machine: database, mail catcher, worker and web app (waitress) in one process.

    Links in emails point at the address it serves on (RESOLVER_PUBLIC_BASE_URL, when set, wins); the
    address is kept in the database, so a worker or a `resolver tick` on it link there too. To rehearse
    the deadlines on the demo, run `resolver tick --as-of "in 2 days"` in another terminal.
    """
    from waitress.server import create_server

    from .installation import load_clock, record_public_address
    from .migrations import is_up_to_date, upgrade_database
    from .worker import Worker

    app = current_app._get_current_object()
    _configure_logging("text")
    require_storage()  # a bucket that is missing or cannot be reached is said now, not at the first upload
    if not is_up_to_date():
        before, after = upgrade_database()
        click.echo(f"Database brought to revision {after} (was {before or 'empty'}).")
    is_everywhere = host in ("0.0.0.0", "::", "")
    shown_host = "127.0.0.1" if is_everywhere else host
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    configured = app.config.get("PUBLIC_BASE_URL")
    base_url = (configured or f"http://{shown_host}:{port}").rstrip("/")
    catcher = None
    if not app.config.get("MAIL_SERVER"):
        from .mailcatcher import MailCatcherError, start_mail_catcher

        try:
            catcher = start_mail_catcher(app)
        except MailCatcherError as error:
            raise click.ClickException(str(error)) from error
    try:
        # Forwarded headers reach the app, which believes exactly RESOLVER_PROXY_HOPS of them (ProxyFix).
        server = create_server(app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=False)
    except OSError as error:
        if catcher is not None:
            catcher.stop()
        raise click.ClickException(f"Cannot listen on {host}:{port} ({error.strerror}). Try --port.") from error
    # Links in emails must point where this server really listens, from every process on this database.
    app.config["PUBLIC_BASE_URL"] = base_url
    record_public_address(base_url)
    load_clock()
    loop = Worker(app)
    thread = loop.start_in_thread()
    click.echo(f"Resolver is running at {base_url}/")
    if is_everywhere and not configured:
        click.echo("Links in emails point at this machine itself: set RESOLVER_PUBLIC_BASE_URL to the address "
                   "other machines reach it at.")
    if catcher is not None:
        click.echo(f"Mail is caught locally, not sent: read it at {base_url}/mailbox/")
    else:
        click.echo(f"Mail goes out through {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}.")
    click.echo("Press Ctrl-C to stop.")
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is handled like Ctrl-C
    try:
        server.run()  # returns on Ctrl-C or SIGTERM, after waitress stops its threads
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("Stopping: finishing the worker's round in hand...")
        server.close()
        loop.stop()
        thread.join(timeout=60)
        if catcher is not None and hasattr(catcher, "stop"):
            catcher.stop()
        click.echo("Stopped.")


def _interrupt(*_ignored) -> None:
    raise KeyboardInterrupt


# The workflow --------------------------------------------------------------------------------


@click.command("diagram")
@click.option("--workflow", "workflow_name", default="dispute", show_default=True)
@with_appcontext
def diagram(workflow_name: str) -> None:
    """Print the workflow as a Mermaid state diagram (the README's diagram is this output)."""
    from .workflow.diagram import mermaid_diagram

    click.echo(mermaid_diagram(workflow_name), nl=False)
