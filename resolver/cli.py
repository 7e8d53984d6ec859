"""The ``resolver`` command line (also ``flask --app wsgi ...``)."""
from __future__ import annotations

import click
from flask import Flask


def register_commands(app: Flask) -> None:
    pass


def main() -> None:
    from . import create_app

    app = create_app()
    app.cli.main(prog_name="resolver")
