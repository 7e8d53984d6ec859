"""Staff sign-in: password hashes, the Flask-Login wiring, throttling, and sessions that end.

A session ends when it is older than ``PERMANENT_SESSION_LIFETIME`` (counted on Resolver's clock, so
tests can move it), when the person's account is switched off, and when their password changes.
Repeated failed sign-ins for one address, or from one client, are refused for a while.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
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

# Failures allowed in THROTTLE_WINDOW before that address (or client) must wait.
FAILURES_PER_EMAIL = 5
FAILURES_PER_CLIENT = 30
THROTTLE_WINDOW = timedelta(minutes=15)
# Requests for a reset email allowed in THROTTLE_WINDOW, counted whether or not the address has an account.
RESETS_PER_EMAIL = 3
RESETS_PER_CLIENT = 10
_LIMITS = {"sign_in": (FAILURES_PER_EMAIL, FAILURES_PER_CLIENT),
           "password_reset": (RESETS_PER_EMAIL, RESETS_PER_CLIENT)}

# A hash to check against when the address is unknown, so a wrong address takes as long as a wrong password.
_NO_SUCH_USER_HASH = generate_password_hash("resolver: nobody has this password", method="scrypt")


def check_password(user: StaffUser, password: str) -> bool:
    if not user.password_hash:
        check_password_hash(_NO_SUCH_USER_HASH, password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


# Flask-Login ---------------------------------------------------------------------------------

def _fingerprint(user: StaffUser) -> str:
    """Changes whenever the password does, so a new password ends every other session."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, (user.password_hash or "-").encode(), hashlib.sha256).hexdigest()[:16]


def _session_id(user: StaffUser) -> str:
    return f"{user.id}:{_fingerprint(user)}"


# StaffUser is a plain model; these are the few things Flask-Login asks of a user object.
StaffUser.is_authenticated = property(lambda self: bool(self.is_active))
StaffUser.is_anonymous = False
StaffUser.get_id = _session_id

login_manager.login_view = "manager.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(session_id: str) -> StaffUser | None:
    user_id, _, fingerprint = (session_id or "").partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    if user is None or not user.is_active or not hmac.compare_digest(fingerprint, _fingerprint(user)):
        return None
    signed_in = session.get("signed_in_dt")
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    try:
        started = datetime.fromisoformat(signed_in)
    except (TypeError, ValueError):
        return None
    if now_utc() - started > lifetime:
        session.clear()
        hours = round(lifetime.total_seconds() / 3600)
        flash(f"For your security, a session lasts {hours} hours and yours has ended. Please sign in again.", "info")
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        abort(401)
    if request.method == "GET":
        flash(login_manager.login_message, login_manager.login_message_category)
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


def wait_until(email: str, ip: str, now: datetime, kind: str = "sign_in") -> datetime | None:
    """When this address (or client) may try again, or None if it may try now.

    ``kind``: "sign_in" counts failed sign-ins; "password_reset" counts every request for a reset email.
    """
    since = now - THROTTLE_WINDOW
    # The person signing in successfully clears their address's count; a client's count is never cleared.
    last_success = db.session.scalar(
        select(func.max(SignInAttempt.attempted_dt)).where(
            SignInAttempt.kind == kind, SignInAttempt.email == email, SignInAttempt.is_success.is_(True),
            SignInAttempt.attempted_dt > since,
        )
    )
    failures = select(func.count(), func.min(SignInAttempt.attempted_dt)).where(
        SignInAttempt.kind == kind, SignInAttempt.is_success.is_(False))
    per_email, per_client = _LIMITS[kind]
    for condition, limit, start in (
        (SignInAttempt.email == email, per_email, max(since, last_success or since)),
        (SignInAttempt.ip == ip, per_client, since),
    ):
        count, first = db.session.execute(failures.where(condition, SignInAttempt.attempted_dt > start)).one()
        if count >= limit:
            first = first if first.tzinfo else first.replace(tzinfo=timezone.utc)
            return first + THROTTLE_WINDOW
    return None


def minutes_until(until: datetime, now: datetime) -> str:
    minutes = max(1, round((until - now).total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def start_session(user: StaffUser, now: datetime) -> None:
    """Sign ``user`` in, in a new session (nothing of an earlier visitor's session is kept)."""
    session.clear()
    session.permanent = True
    session["signed_in_dt"] = now.isoformat()
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
            error = (f"Too many sign-in attempts. For your security, please wait {minutes_until(until, now)} "
                     "and try again, or use “Forgot your password?” below.")
            status = 429
        else:
            user = db.session.scalars(select(StaffUser).where(func.lower(StaffUser.email) == email)).first()
            ok = check_password(user, password) if user is not None else check_password_hash(_NO_SUCH_USER_HASH, password)
            ok = ok and user.is_active
            db.session.add(SignInAttempt(email=email, ip=ip, attempted_dt=now, is_success=ok))
            if ok:
                start_session(user, now)
                return redirect(_safe_next(form.next.data or request.args.get("next")))
            error = "That email and password do not match an account. Check them and try again."
            status = 401
    return render_template("manager/login.html", email=email, error=error,
                           next=request.values.get("next", "")), status


@blueprint.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("manager.login"))
