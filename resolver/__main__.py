"""The ``resolver`` command (and ``python -m resolver``): Resolver's commands, on an app built from the
RESOLVER_* environment variables."""
from flask.cli import FlaskGroup

from . import create_app


def main() -> None:
    cli = FlaskGroup(
        name="resolver",
        create_app=lambda: create_app(),
        help="Resolver: the resolution-team process for residential property managers. "
        "Settings come from RESOLVER_* environment variables (see the README). "
        "To rehearse the deadlines on the demo, run `resolver tick --as-of \"in 2 days\"` beside `resolver serve`.",
    )
    cli.main(prog_name="resolver")


if __name__ == "__main__":
    main()
