"""The portfolio import's forms: the file to upload, and the confirmation of what its preview showed."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class UploadForm(FlaskForm):
    file = FileField(validators=[FileRequired(_l("Choose the CSV file to import."))])


class ConfirmForm(FlaskForm):
    # The preview's fingerprint: the import refuses if it would now do anything else.
    fingerprint = HiddenField(validators=[
        DataRequired(_l("This confirmation has no preview to confirm. Open the preview and confirm from there.")),
        Length(min=64, max=64, message=_l("This confirmation does not match a preview. Open the preview again.")),
    ])
