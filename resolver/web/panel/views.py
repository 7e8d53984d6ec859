"""Routes of the panel blueprint (placeholder until the vote page lands)."""
from . import blueprint


@blueprint.get("/v/<token>")
def vote_page(token: str):
    return "vote", 501
