"""The ``resolver`` command (and ``python -m resolver``): Resolver's commands, on an app built from the
RESOLVER_* environment variables."""
from flask.cli import FlaskGroup

from . import create_app


def main() -> None:
    cli = FlaskGroup(
        name="resolver",
        create_app=lambda: create_app(),
        help="Resolver: the resolution-team process for residential property managers. "
        "Settings come from RESOLVER_* environment variables (see the README).",
    )
    cli.main(prog_name="resolver")


if __name__ == "__main__":
    main()
