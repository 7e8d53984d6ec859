"""Importing the company's properties, units and residents from a CSV, and exporting them as one.

Upload → preview (each row new, changed, unchanged or wrong, with the reason) → confirm. The upload
is kept on the server (``import_uploads``) and the preview has its own address, so reloading it or
coming back to it later works, and confirming needs no second upload. Any member of staff may import.
A refused file (not a CSV, not UTF-8, missing columns, too large) shows why and changes nothing.
"""
from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ...errors import DomainError, InvalidInput
from ...services import portfolio_csv
from ...services.portfolio_export import export_portfolio, left_out
from ...services.portfolio_import import CHANGED, NEW, UNCHANGED, WRONG, Preview, PreviewOutdated, import_portfolio, \
    preview_import
from ..unit_of_work import after_commit, unit_of_work
from . import blueprint, import_uploads
from .auth import current_actor
from .forms import refuse_unless_valid
from .import_forms import ConfirmForm, UploadForm

# Room for the form's other fields and the multipart framing, on top of the file itself.
FORM_ALLOWANCE = 64 * 1024
SHOWN_COLLAPSED = 500  # new and unchanged rows listed at most on the preview (all are counted)
def _too_large_message() -> str:
    return _("The file is larger than %(size)s MB, so it was not uploaded. Split it into smaller files (at most "
             "%(rows)s rows each) and import them one after the other.",
             size=portfolio_csv.MAX_BYTES // (1024 * 1024), rows=f"{portfolio_csv.MAX_ROWS:,}")


@blueprint.url_value_preprocessor
def _upload_size_limit(endpoint: str | None, values: dict | None) -> None:
    # Set before any part of the body is read (the CSRF check reads the form): a larger upload is refused
    # from its Content-Length, or as soon as that many bytes have come in, never read whole into memory.
    if endpoint == "manager.portfolio_import":
        request.max_content_length = portfolio_csv.MAX_BYTES + FORM_ALLOWANCE
    elif endpoint == "manager.portfolio_import_confirm":
        request.max_content_length = FORM_ALLOWANCE


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if request.endpoint != "manager.portfolio_import" or not current_user.is_authenticated:
        return error
    return _upload_page(InvalidInput(_too_large_message(), field="file"), 413)


def _upload_page(error: DomainError | None = None, status: int = 200):
    return render_template("manager/import.html", error=error, columns=portfolio_csv.COLUMNS,
                           aliases=portfolio_csv.ALIASES, required=portfolio_csv.REQUIRED,
                           max_mb=portfolio_csv.MAX_BYTES // (1024 * 1024), max_rows=portfolio_csv.MAX_ROWS,
                           left_out=left_out(current_actor())), status


def _preview_page(upload: import_uploads.Upload, preview: Preview, *, error: DomainError | None = None,
                  status: int = 200):
    return render_template(
        "manager/import_preview.html", upload=upload, preview=preview, error=error, shown=SHOWN_COLLAPSED,
        wrong=preview.rows_of(WRONG), changed=preview.rows_of(CHANGED), new=preview.rows_of(NEW),
        unchanged=preview.rows_of(UNCHANGED),
    ), status


@blueprint.route("/import", methods=["GET", "POST"])
@unit_of_work(refused=lambda error: _upload_page(error, error.status_code))
def portfolio_import():
    """The upload form; a good file is kept and its preview shown at its own address."""
    if request.method == "GET":
        return _upload_page()
    form = refuse_unless_valid(UploadForm())
    data = form.file.data.stream.read(portfolio_csv.MAX_BYTES + 1)
    portfolio_csv.read_sheet(data)  # a file that cannot be read is refused now, and not kept
    name = (form.file.data.filename or "portfolio.csv").replace("\\", "/").rpartition("/")[2][:200]
    token = import_uploads.keep(data, name, g.company.id)
    return redirect(url_for("manager.portfolio_import_preview", upload=token), 303)


@blueprint.get("/import/<upload>")
def portfolio_import_preview(upload: str):
    try:
        kept = import_uploads.load(upload, g.company.id)
        preview = preview_import(current_actor(), kept.data)
    except DomainError as error:
        return _upload_page(error, error.status_code)
    return _preview_page(kept, preview)


def _refused_confirm(error: DomainError, upload: str):
    if isinstance(error, PreviewOutdated):
        return _preview_page(import_uploads.load(upload, g.company.id), error.preview, error=error,
                             status=error.status_code)
    return _upload_page(error, error.status_code)


@blueprint.post("/import/<upload>")
@unit_of_work(refused=_refused_confirm)
def portfolio_import_confirm(upload: str):
    """Import what the preview showed, or nothing (and the preview as it is now) if that changed."""
    kept = import_uploads.load(upload, g.company.id)
    form = refuse_unless_valid(ConfirmForm())
    done = import_portfolio(current_actor(), kept.data, fingerprint=form.fingerprint.data, file_name=kept.name)
    after_commit(lambda: import_uploads.forget(kept.upload_id))
    flash(_summary(kept.name, done), "success")
    return redirect(url_for("manager.portfolio_import"), 303)


def _summary(name: str, done: Preview) -> str:
    """"Imported roll.csv: 1 property, 2 units and 3 residents added; 0 residents changed." (counts as plurals)"""
    added, wrong = done.added, done.counts[WRONG]
    counts = {
        "properties": ngettext("%(count)s property", "%(count)s properties", added["properties"],
                               count=f"{added['properties']:,}"),
        "units": ngettext("%(count)s unit", "%(count)s units", added["units"], count=f"{added['units']:,}"),
        "residents": ngettext("%(count)s resident", "%(count)s residents", added["residents"],
                              count=f"{added['residents']:,}"),
        "changed": ngettext("%(count)s resident", "%(count)s residents", done.changed_residents,
                            count=f"{done.changed_residents:,}"),
        "wrong": ngettext("%(count)s wrong row", "%(count)s wrong rows", wrong, count=f"{wrong:,}"),
    }
    if wrong:
        return _("Imported %(file)s: %(properties)s, %(units)s and %(residents)s added; %(changed)s changed; "
                 "%(wrong)s skipped.", file=name, **counts)
    return _("Imported %(file)s: %(properties)s, %(units)s and %(residents)s added; %(changed)s changed.",
             file=name, **counts)


@blueprint.get("/export.csv")
def portfolio_export():
    """The company's current properties, units and residents, in the format the import reads."""
    return Response(export_portfolio(current_actor()).encode("utf-8-sig"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{g.company.slug}-properties-units-residents.csv"',
    })
