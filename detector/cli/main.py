"""The ``detector`` command.  Each subcommand lives in its own module of this package.

Subcommand modules are imported only when their command runs (or ``--help``
lists them): ``detector replay`` should not pay for the sidecar's network
stack at start-up.
"""

from __future__ import annotations

from importlib import import_module

import click

#: command name -> module in this package exposing a click command named ``command``
SUBCOMMANDS: dict[str, str] = {
    "explain": "explain",
    "match": "match",
    "replay": "replay",
    "run": "run",
    "test": "testcmd",
    "validate": "validate",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = SUBCOMMANDS.get(cmd_name)
        if module_name is None:
            return None
        command: click.Command = import_module(f"detector.cli.{module_name}").command
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="detector")
def cli() -> None:
    """A Falco-compatible runtime detection engine."""


def main() -> None:
    cli()
