"""Staff sign-in: password hashes, the Flask-Login wiring, throttling, and sessions that end.

A session ends when it is older than ``PERMANENT_SESSION_LIFETIME``, when it has gone unused for the
company's idle timeout (both counted on Resolver's clock, so tests can move it), when the person's
account is switched off, when their password changes, and everywhere at once when they sign out.

Failed sign-ins slow down the client that makes them, never the account: one client failing for one
address waits longer after each failure; an address that fails from many clients makes each of them
wait from its first failure; one client failing for many addresses waits. A client that has not
failed for an address can always sign in to it with the right password.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache, wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ...actors import Actor
from ...clock import now_utc
from ...errors import NotAllowed
from ...extensions import db, login_manager
from ...models import SignInAttempt, StaffUser
from ...services.company_history import SUPERVISOR_ONLY
from ...services.staff import MIN_PASSWORD_LENGTH, set_password  # noqa: F401  (imported from here too)
from ..unit_of_work import unit_of_work
from . import blueprint
from .forms import SignInForm


@cache
def _no_such_user_hash() -> str:
    """A hash to check against when the address is unknown, so a wrong address takes as long as a wrong
    password (made at the first sign-in, not at import: scrypt is slow on purpose)."""
    return generate_password_hash("resolver: nobody has this password", method="scrypt")


def check_password(user: StaffUser, password: str) -> bool:
    if not user.password_hash:
        check_password_hash(_no_such_user_hash(), password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


# Flask-Login ---------------------------------------------------------------------------------

def _fingerprint(user: StaffUser) -> str:
    """Changes whenever the password or the session version does: a new password ends every other
    session, signing out ends them all."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{user.password_hash or '-'}:{user.session_version}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def _session_id(user: StaffUser) -> str:
    return f"{user.id}:{_fingerprint(user)}"


# StaffUser is a plain model; these are the few things Flask-Login asks of a user object.
StaffUser.is_authenticated = property(lambda self: bool(self.is_active))
StaffUser.is_anonymous = False
StaffUser.get_id = _session_id

login_manager.login_view = "manager.login"
login_manager.login_message = _l("Please sign in to see that page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(session_id: str) -> StaffUser | None:
    user_id, _colon, fingerprint = (session_id or "").partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    if user is None or not user.is_active or not hmac.compare_digest(fingerprint, _fingerprint(user)):
        return None
    return user if _session_is_current(user, now_utc()) else None


def _session_time(name: str) -> datetime | None:
    try:
        return datetime.fromisoformat(session.get(name))
    except (TypeError, ValueError):
        return None


def _session_is_current(user: StaffUser, now: datetime) -> bool:
    """Whether the session is neither too old nor left idle too long; a current one is marked as used now."""
    started = _session_time("signed_in_dt")
    if started is None:
        return False
    last_active = _session_time("active_dt") or started
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    idle = timedelta(minutes=user.company.idle_timeout_minutes)
    if now - started > lifetime:
        return _end_session(_("For your security, a session lasts %(length)s and yours has ended. Please sign in "
                              "again.", length=duration_in_words(lifetime)))
    if now - last_active > idle:
        return _end_session(_("You were signed out after %(length)s without activity. Please sign in again.",
                              length=duration_in_words(idle)))
    session["active_dt"] = now.isoformat()
    return True


def _end_session(message: str) -> bool:
    session.clear()
    flash(message, "info")
    return False


def duration_in_words(length: timedelta) -> str:
    """In words, as a person would say it: 30 minutes, 1 hour, 8 hours, 90 minutes."""
    minutes = max(1, round(length.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(num)s hour", "%(num)s hours", hours)
    return ngettext("%(num)s minute", "%(num)s minutes", minutes)


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        abort(401)
    if request.method == "GET":
        flash(str(login_manager.login_message), login_manager.login_message_category)
        return redirect(url_for("manager.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("manager.login"))


def current_staff() -> StaffUser:
    return current_user._get_current_object()


def current_actor() -> Actor:
    return Actor.staff(current_staff())


def supervisor_required(view):
    """Company-wide settings are the supervisor's (the home office's) to change."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_staff().is_supervisor:
            raise NotAllowed(SUPERVISOR_ONLY)
        return view(*args, **kwargs)

    wrapper.is_supervisor_only = True
    return wrapper


@blueprint.before_app_request
def _forget_cached_user():
    """Each request finds its user (and its CSRF token) from its own session cookie. Flask-Login and
    Flask-WTF cache them on ``g``, which outlives a request when an app context was already pushed
    (tests, requests made from a command)."""
    g.pop("_login_user", None)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


# Signing in, and getting a password to sign in with.
PUBLIC_ENDPOINTS = {"manager.login", "manager.forgot_password", "manager.choose_password"}


@blueprint.before_request
def require_sign_in():
    """Every manager page needs a signed-in staff member; the sign-in page is the one exception."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    g.company = current_staff().company
    return None


# Throttling ----------------------------------------------------------------------------------

def client_ip() -> str:
    return (request.remote_addr or "")[:64]


@dataclass(frozen=True)
class Limits:
    """How many tries pass before the client that makes them waits."""

    per_pair: int  # one client, one address: then FIRST_WAIT, doubling after each further try
    per_address: int  # one address, from every client in ADDRESS_WINDOW: then each client waits from its first
    per_client: int  # one client, whatever the addresses, in CLIENT_WINDOW


# Sign-ins count failures; reset emails count every request, whether or not the address has an account.
_LIMITS = {"sign_in": Limits(per_pair=5, per_address=20, per_client=30),
           "password_reset": Limits(per_pair=3, per_address=10, per_client=10)}
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(minutes=30)
PAIR_MEMORY = timedelta(hours=24)  # a client's tries for an address are forgotten after a day
ADDRESS_WINDOW = timedelta(hours=1)
CLIENT_WINDOW = timedelta(minutes=15)


def wait_until(email: str, ip: str, now: datetime, kind: str = "sign_in") -> datetime | None:
    """When this client may try this address again, or None if it may try now.

    ``kind``: "sign_in" counts failed sign-ins; "password_reset" counts every request for a reset email.
    Only the client that made the tries waits: another client is never held up by them.
    """
    limits = _LIMITS[kind]
    waits = [until for until in (_pair_wait(kind, email, ip, now, limits), _client_wait(kind, ip, now, limits))
             if until is not None and until > now]
    return max(waits, default=None)


def _pair_wait(kind: str, email: str, ip: str, now: datetime, limits: Limits) -> datetime | None:
    """One client's tries for one address since it last got in: the first few are free, then it waits
    after each. While the address is being tried from many clients, every client that has tried it
    waits from its first try."""
    since = max(now - PAIR_MEMORY, _last_success(kind, email, ip) or now - PAIR_MEMORY)
    tries, last_try = db.session.execute(select(func.count(), func.max(SignInAttempt.attempted_dt)).where(
        SignInAttempt.email == email, SignInAttempt.ip == ip, *_tries(kind, since))).one()
    free = 1 if _is_tried_from_many_clients(kind, email, now, limits) else limits.per_pair
    return _utc(last_try) + _growing_wait(tries - free) if tries >= free else None


def _growing_wait(tries_over: int) -> timedelta:
    """1, 2, 4, 8, 16, then 30 minutes."""
    return min(FIRST_WAIT * 2 ** min(tries_over, 16), LONGEST_WAIT)


def _is_tried_from_many_clients(kind: str, email: str, now: datetime, limits: Limits) -> bool:
    tries = db.session.scalar(select(func.count()).where(SignInAttempt.email == email,
                                                          *_tries(kind, now - ADDRESS_WINDOW)))
    return tries >= limits.per_address


def _client_wait(kind: str, ip: str, now: datetime, limits: Limits) -> datetime | None:
    """One client trying many addresses (stuffing in a list of stolen passwords) waits until its
    earliest try in the window has left it."""
    tries, first_try = db.session.execute(select(func.count(), func.min(SignInAttempt.attempted_dt)).where(
        SignInAttempt.ip == ip, *_tries(kind, now - CLIENT_WINDOW))).one()
    return _utc(first_try) + CLIENT_WINDOW if tries >= limits.per_client else None


def _tries(kind: str, since: datetime) -> tuple:
    """The conditions for the tries that count: failed sign-ins, or requests for a reset email."""
    return (SignInAttempt.kind == kind, SignInAttempt.is_success.is_(False), SignInAttempt.attempted_dt > since)


def _last_success(kind: str, email: str, ip: str) -> datetime | None:
    """When this client last signed in to this address: its earlier failures no longer count."""
    return db.session.scalar(select(func.max(SignInAttempt.attempted_dt)).where(
        SignInAttempt.kind == kind, SignInAttempt.email == email, SignInAttempt.ip == ip,
        SignInAttempt.is_success.is_(True)))


def _utc(moment: datetime) -> datetime:
    # An aggregate's result may come back without the column's type (and so without its time zone).
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def minutes_until(until: datetime, now: datetime) -> str:
    return duration_in_words(timedelta(minutes=math.ceil((until - now).total_seconds() / 60)))


def start_session(user: StaffUser, now: datetime) -> None:
    """Sign ``user`` in, in a new session (nothing of an earlier visitor's session is kept)."""
    session.clear()
    session.permanent = True
    session["signed_in_dt"] = session["active_dt"] = now.isoformat()
    login_user(user)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host, never a scheme-relative URL."""
    if not target:
        return url_for("manager.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("manager.dashboard")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
@unit_of_work
def login():
    """Signing in; every attempt, failed or not, is kept (the throttle counts them)."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    email = ""
    error = None
    status = 200
    if request.method == "POST":
        form = SignInForm()
        form.validate()  # nothing to refuse but a missing CSRF token, which never reaches here
        email, password = form.email.data, form.password.data
        now = now_utc()
        ip = client_ip()
        until = wait_until(email, ip, now)
        if until is not None:
            error = _("Too many sign-in attempts from here. For your security, please wait %(wait)s and try again, "
                      "or use “Forgot your password?” below.", wait=minutes_until(until, now))
            status = 429
        else:
            user = db.session.scalars(select(StaffUser).where(func.lower(StaffUser.email) == email)).first()
            ok = check_password(user, password) if user is not None else check_password_hash(_no_such_user_hash(), password)
            ok = ok and user.is_active
            db.session.add(SignInAttempt(email=email, ip=ip, attempted_dt=now, is_success=ok))
            if ok:
                start_session(user, now)
                return redirect(_safe_next(form.next.data or request.args.get("next")))
            error = _("That email and password do not match an account. Check them and try again.")
            status = 401
    return render_template("manager/login.html", email=email, error=error,
                           next=request.values.get("next", "")), status


@blueprint.post("/logout")
@unit_of_work
def logout():
    """Ends every session the person has: a copy of this one's cookie no longer signs anybody in."""
    current_staff().session_version += 1
    logout_user()
    session.clear()
    flash(_("You are signed out, here and on any other device where you were signed in."), "info")
    return redirect(url_for("manager.login"))
