"""``detector run``: the long-running sidecar (see docs/sidecar.md)."""

from __future__ import annotations

import asyncio
import logging
import sys

import click
import uvloop

from detector.service.config import ServiceConfig, load_config
from detector.service.errors import ConfigError
from detector.service.rules import RulesLoadError, describe_diagnostic, expand_rules_paths
from detector.service.service import Dependencies, run_service

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("detector")
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
    root.propagate = False


def _dry_run(config: ServiceConfig, deps: Dependencies) -> int:
    try:
        files = expand_rules_paths(config.rules_files)
    except RulesLoadError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    result = deps.loader(*files)
    for warning in result.warnings:
        click.echo(f"warning: {describe_diagnostic(warning)}", err=True)
    for error in result.errors:
        click.echo(f"error: {describe_diagnostic(error)}", err=True)
    if result.errors:
        return 1
    click.echo(f"configuration and {len(files)} rules files OK", err=True)
    return 0


@click.command("run")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Configuration file (falco.yaml conventions, see examples/detector.yaml).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Override a configuration key, Falco style: webserver.listen_port=8080, rules_files[0]=x.yaml.")
@click.option("-r", "--rules", "rules", multiple=True, type=click.Path(),
              help="Rules file or directory; repeatable; replaces rules_files from the config.")
@click.option("--dry-run", is_flag=True, help="Check the configuration and load the rules, then exit.")
def command(config_path: str | None, options: tuple[str, ...], rules: tuple[str, ...], dry_run: bool) -> None:
    """Run as a long-lived sidecar: take Falco alerts, audit events and JSON lines over the network,
    evaluate them against the rules and deliver the alerts durably to the configured outputs."""
    from detector.service.wiring import default_dependencies

    overrides = list(options)
    for index, path in enumerate(rules):
        overrides.append(f"rules_files[{index}]={path}")
    if rules:
        overrides.insert(0, "rules_files=[]")
    try:
        config = load_config(config_path, overrides)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    _setup_logging(config.log_level)
    log = logging.getLogger("detector.service")
    for key in config.unknown_keys:
        log.warning("%s: unknown configuration key %s ignored", config.source_file or "-o", key)
    deps = default_dependencies()
    if dry_run:
        sys.exit(_dry_run(config, deps))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        code = runner.run(run_service(config, deps))
    sys.exit(code)
