"""The letter as a PDF (WeasyPrint): attached to the email and kept on the dispute.

WeasyPrint is given the finished HTML and may fetch nothing: a letter never depends on the network
or on files outside itself, so the same HTML always makes the same letter.

The PDF is WeasyPrint's PDF/UA-1 variant: tagged (a structure tree a screen reader follows, headings,
paragraphs and lists as such), with the document's language taken from the HTML's ``lang`` and its
title shown as the window's title.
"""
from __future__ import annotations

import logging

from ..errors import DomainError

log = logging.getLogger(__name__)

# A tagged, accessible PDF (ISO 14289-1), as WeasyPrint (53 and later) makes it.
PDF_VARIANT = "pdf/ua-1"


class LetterRenderError(DomainError):
    """The letter could not be made into a PDF; nothing was sent."""

    status_code = 500


def _refuse_fetch(url: str, *args, **kwargs):
    raise ValueError(f"a letter may not load {url!r}")


def _fetcher():
    """Only inline ``data:`` resources; WeasyPrint 66+ takes a fetcher object, older ones a function."""
    from weasyprint import urls

    if hasattr(urls, "URLFetcher"):
        return urls.URLFetcher(allowed_protocols=("data",))
    return _refuse_fetch


def html_to_pdf(html: str) -> bytes:
    """The PDF bytes of ``html``; a LetterRenderError (and nothing else) when that fails."""
    try:
        import weasyprint

        document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_fetcher())
        data = document.write_pdf(pdf_variant=PDF_VARIANT)
    except Exception as error:  # WeasyPrint's errors are many and undocumented: any failure stops the send
        log.exception("the letter PDF could not be made")
        raise LetterRenderError(
            "The letter could not be turned into a PDF, so nothing was sent. "
            "Please try again; if it keeps failing, tell your Resolver administrator."
        ) from error
    if not data or not data.startswith(b"%PDF"):
        raise LetterRenderError("The letter could not be turned into a PDF, so nothing was sent.")
    return data
