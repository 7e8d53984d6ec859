"""The resident's outcome page (placeholder until the written outcome lands)."""
from . import blueprint


@blueprint.get("/o/<token>")
def outcome_page(token: str):
    return "outcome", 501
