"""Getting a password by email: "Forgot your password?", and the page an invitation or reset link opens.

Both pages are for people who are not signed in. The link page changes nothing on GET (mail scanners
open links); its POST sets the password, uses the link up and signs the person in. The reset form
answers the same whether or not the address has an account, and is throttled like sign-in.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...clock import now_utc
from ...errors import DomainError, LinkError
from ...extensions import db
from ...models import SignInAttempt
from ...services import accounts
from ...services.staff import MIN_PASSWORD_LENGTH, PASSWORD_RULE
from ..unit_of_work import unit_of_work
from . import blueprint
from .account_forms import ChoosePasswordForm, ForgotPasswordForm
from .auth import client_ip, minutes_until, start_session, wait_until
from .forms import refuse_unless_valid

# A page whose URL holds a secret: never cached, never named to another site.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_HEADINGS = {"set_password": _l("Set your password"), "reset_password": _l("Choose a new password")}


# Forgot your password? ----------------------------------------------------------------------------

def _forgot_page(status: int = 200, *, email: str = "", error: DomainError | None = None, sent: bool = False,
                 problem: LinkError | None = None):
    return render_template("manager/forgot_password.html", email=email, error=error, sent=sent, problem=problem,
                           lifetime=accounts.LIFETIME_WORDS["reset_password"]), status, _PRIVATE


def _refused_forgot(error: DomainError):
    return _forgot_page(error.status_code, email=ForgotPasswordForm().email.data or "", error=error)


@blueprint.route("/forgot-password", methods=["GET", "POST"])
@unit_of_work(refused=_refused_forgot)
def forgot_password():
    form = ForgotPasswordForm()
    if not form.is_submitted():
        return _forgot_page()
    email = refuse_unless_valid(form).email.data
    now, ip = now_utc(), client_ip()
    until = wait_until(email, ip, now, kind="password_reset")
    if until is not None:
        # Counted per address whether or not it has an account, so this says nothing about who does.
        error = DomainError(_("Too many requests for a reset link. Please wait %(wait)s and try again, or ask your "
                              "supervisor.", wait=minutes_until(until, now)))
        return _forgot_page(429, email=email, error=error)
    db.session.add(SignInAttempt(kind="password_reset", email=email, ip=ip, attempted_dt=now, is_success=False))
    accounts.request_password_reset(email)
    return _forgot_page(email=email, sent=True)


# The page a link opens ----------------------------------------------------------------------------

def _problem_page(problem: LinkError):
    # A link we never sent is not found; one we sent that no longer works is gone.
    return _forgot_page(404 if problem.reason == "unknown" else 410, problem=problem)


def _choose_page(nonce: str, status: int = 200, *, error: DomainError | None = None):
    """The form, if the link may be used; else the page that says why not (and offers a new link)."""
    try:
        token = accounts.usable_token(nonce)
    except LinkError as problem:
        return _problem_page(problem)
    return render_template("manager/choose_password.html", nonce=nonce, user=token.staff_user, error=error,
                           heading=_HEADINGS[token.purpose], rule=PASSWORD_RULE,
                           min_length=MIN_PASSWORD_LENGTH), status, _PRIVATE


def _refused_choose(error: DomainError, token: str):
    if isinstance(error, LinkError):
        return _problem_page(error)
    return _choose_page(token, error.status_code, error=error)


@blueprint.route("/set-password/<token>", methods=["GET", "POST"])
@unit_of_work(refused=_refused_choose)
def choose_password(token: str):
    form = ChoosePasswordForm()
    if not form.is_submitted():
        return _choose_page(token)
    refuse_unless_valid(form)
    user = accounts.choose_password(token, form.password.data, form.confirmation.data)
    start_session(user, now_utc())
    flash(_("Your password is set, %(name)s: you are signed in. Use it with %(email)s from now on.", name=user.name,
            email=user.email), "success")
    return redirect(url_for("manager.dashboard"), 303)
