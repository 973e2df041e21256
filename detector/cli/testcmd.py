"""``detector test SUITE.yaml ...``: run rule test suites and report a diff for each failure."""

from __future__ import annotations

import json

import click

from detector.ruletest import render_text, run_paths, to_json


@click.command(name="test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.option("-k", "--select", metavar="TEXT", help="Run only test cases whose name contains TEXT.")
@click.option("-v", "--verbose", is_flag=True, help="List passing cases and their alerts too.")
def command(paths: tuple[str, ...], as_json: bool, select: str | None, verbose: bool) -> None:
    """Run rule test suites (YAML files, or directories of them).

    Exit status: 0 when every case passes, 1 when a case fails, 2 when a suite or
    its rules cannot be loaded.
    """
    report = run_paths(paths, select=select)
    if as_json:
        click.echo(json.dumps(to_json(report), indent=2))
    else:
        click.echo(render_text(report, verbose=verbose))
    raise SystemExit(report.exit_code)
