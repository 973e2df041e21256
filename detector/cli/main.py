"""The ``detector`` command.  Each subcommand lives in its own module of this package."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="detector")
def cli() -> None:
    """A Falco-compatible runtime detection engine."""


def _register() -> None:
    # Subcommands register here; each module exposes one click command named `command`.
    from importlib import import_module

    for module_name in ("match", "validate", "replay", "testcmd", "explain", "run"):
        try:
            module = import_module(f"detector.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"detector.cli.{module_name}":
                continue  # not built yet
            raise
        cli.add_command(module.command)


_register()


def main() -> None:
    cli()
