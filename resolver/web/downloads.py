"""Sending a stored file (evidence, a letter's PDF, a calendar) to the browser as it is read from its
place, a block at a time: the web process never holds a whole file, whether the place is a folder or
a bucket."""
from __future__ import annotations

from flask import Response, request, send_file

from ..files import file_size, open_file


def send_stored(sha256: str, *, conditional: bool = True, **options) -> Response:
    """``send_file`` for the stored file ``sha256`` with its length known, so a browser shows progress and,
    when ``conditional``, may resume with a Range request or revalidate its copy by ETag.
    FileNotFoundError when the file is not in storage."""
    size = file_size(sha256)
    stream = open_file(sha256)
    try:
        response = send_file(stream, conditional=False, **options)
        response.content_length = size
        if conditional:
            response = response.make_conditional(request.environ, accept_ranges=True, complete_length=size)
    except BaseException:
        stream.close()
        raise
    return response
