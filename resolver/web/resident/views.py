"""Routes of the resident blueprint (placeholder until the evidence form lands)."""
from . import blueprint


@blueprint.get("/e/<token>")
def evidence_form(token: str):
    return "evidence form", 501
