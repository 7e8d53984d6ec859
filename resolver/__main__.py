"""The ``resolver`` command (and ``python -m resolver``): Resolver's commands, on an app built from the
RESOLVER_* environment variables when a command needs one. Listing the commands (``resolver --help``)
builds nothing: it takes a fraction of a second and leaves no trace on disk."""
from flask.cli import FlaskGroup

from .cli import all_commands

HELP = ("Resolver: the resolution-team process for residential property managers. "
        "Settings come from RESOLVER_* environment variables (see the README). "
        "To rehearse the deadlines on the demo, run `resolver tick --as-of \"in 2 days\"` beside `resolver serve`.")


class ResolverGroup(FlaskGroup):
    """Flask's group of commands, with Resolver's own on the group itself: Flask's group builds the app
    to list the app's commands, and Resolver's need none to be listed."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(self.commands)


def _create_app():
    from . import create_app

    return create_app()


def main() -> None:
    cli = ResolverGroup(name="resolver", create_app=_create_app, help=HELP)
    for command in all_commands():
        cli.add_command(command)
    cli.main(prog_name="resolver")


if __name__ == "__main__":
    main()
