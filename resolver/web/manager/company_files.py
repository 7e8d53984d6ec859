"""The company's own files, from the dispute page: staff attach evidence to the company's side (checked
like the resident's, with a short description) and may take a file back, until the case goes to the
team. One POST, one verb, one unit of work; a refused send keeps nothing, not even the bytes.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import MultipleFileField
from wtforms.validators import DataRequired

from ... import uploads
from ...errors import DomainError, NotFound
from ...services.access import dispute_for
from ...services.company_evidence import (
    MAX_DESCRIPTION, add_company_evidence, require_open_company_side, remove_company_evidence,
)
from ..fields import OneLine
from ..sent_files import files_of_this_request
from ..unit_of_work import after_commit, unit_of_work
from . import blueprint
from .auth import current_actor
from .dispute_page import dispute_page_context
from .forms import ActionForm, IdField, TextField, refuse_unless_valid


class CompanyFilesForm(ActionForm):
    """Files for the company's side, and one description for each file of this send."""

    files = MultipleFileField()
    description = TextField(MAX_DESCRIPTION, validators=[OneLine("A description")])


class RemoveCompanyFileForm(ActionForm):
    file_id = IdField(choose=_l("the file"), validators=[DataRequired(_l("Choose the file to remove."))])


def _refused(error: DomainError, dispute_id: int):
    """The dispute page as it is now, with why nothing changed (and the description as typed)."""
    if isinstance(error, NotFound):
        raise error  # another company's dispute, or a file that is not on this one: simply not found
    dispute = dispute_for(current_actor(), dispute_id)
    return render_template("manager/dispute.html", error=error, company_files_form=g.get("company_files_form"),
                           **dispute_page_context(dispute)), error.status_code


def _read(form_class) -> ActionForm:
    form = form_class()
    if problem := form.version_problem():
        raise problem
    return refuse_unless_valid(form)


def _company_side(dispute_id: int):
    return redirect(url_for("manager.dispute_page", dispute_id=dispute_id) + "#company-side-h", 303)


@blueprint.post("/disputes/<int:dispute_id>/company-files")
@unit_of_work(refused=_refused)
def add_company_files(dispute_id: int):
    actor = current_actor()
    dispute = dispute_for(actor, dispute_id)
    g.company_files_form = form = _read(CompanyFilesForm)
    # A page drawn before the case went to the team is refused before a byte is stored.
    require_open_company_side(actor, dispute, form.expected_version.data)
    batch = files_of_this_request(form.files.data or [], dispute, side="company")
    added = add_company_evidence(actor, dispute, files=batch.files, description=form.description.data,
                                 expected_version=form.expected_version.data)
    flash(ngettext("%(num)s file added to the company's side. The team will see it with the case, and %(resident)s "
                   "once the case goes to the team.",
                   "%(num)s files added to the company's side. The team will see them with the case, and "
                   "%(resident)s once the case goes to the team.", len(added), resident=dispute.resident.name),
          "success")
    return _company_side(dispute.id)


@blueprint.post("/disputes/<int:dispute_id>/company-files/remove")
@unit_of_work(refused=_refused)
def remove_company_file(dispute_id: int):
    actor = current_actor()
    dispute = dispute_for(actor, dispute_id)
    form = _read(RemoveCompanyFileForm)
    removed = remove_company_evidence(actor, dispute, form.file_id.data, expected_version=form.expected_version.data)
    after_commit(lambda: uploads.discard_unreferenced(removed.hashes))
    flash(_("“%(file)s” is no longer on the company's side. The history keeps that it was added and removed.",
            file=removed.name), "success")
    return _company_side(dispute.id)
