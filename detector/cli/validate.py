"""``detector validate RULES...``: load rules files and report as ``falco -V`` does.

Files (and the ``*.yaml`` of directories) are loaded in order into one engine,
so a later file may extend an earlier one.  Exit status 0 means no errors (and,
with ``--strict``, no warnings); 1 means problems were found.
"""

from __future__ import annotations

import json
import sys

import click

from detector.lint import Finding, lint
from detector.loader import RulesLoader
from detector.loader.api import expand_sources
from detector.loader.model import FileResult
from detector.loader.options import DEFAULT_SOURCES

_HINT = "Hint: validate expects a rules file, that is a YAML list of rule, macro and list items."


def _looks_like_mapping_file(result: FileResult) -> bool:
    return any(e.message == "Rules content is not yaml array of objects" for e in result.errors)


def _text_report(results: list[FileResult], color: bool) -> str:
    blocks: list[str] = []
    for res in results:
        text = res.describe() if (res.errors or res.warnings) else res.summary()
        if color:
            first, _, rest = text.partition("\n")
            colour = "red" if res.errors else ("yellow" if res.warnings else "green")
            text = click.style(first, fg=colour, bold=True) + ("\n" + rest if rest else "")
        if _looks_like_mapping_file(res):
            text += "\n" + _HINT
        blocks.append(text)
    return "\n\n".join(blocks)


def _lint_report(findings: list[Finding], color: bool) -> str:
    """Lint findings in the layout of the warnings above them."""
    if not findings:
        head = "Lint: no findings"
        return click.style(head, fg="green", bold=True) if color else head
    head = f"Lint: {len(findings)} finding{'s' if len(findings) != 1 else ''}:"
    if color:
        head = click.style(head, fg="yellow", bold=True)
    return "\n".join([head, *(f.describe() for f in findings)])


@click.command(name="validate")
@click.argument("rules", nargs=-1, required=True, type=click.Path(exists=False, dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print Falco's JSON load results.")
@click.option("--strict", is_flag=True, help="Treat warnings as failures (exit status 1).")
@click.option("--all", "all_errors", is_flag=True,
              help="Report every problem instead of stopping at a file's first error.")
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="An event source the engine has (repeatable; default: syscall and k8s_audit).")
@click.option("--lint", "run_lint", is_flag=True,
              help="Also report lint findings (LINT_* codes) when the rules load; with --strict, "
                   "lint errors and warnings fail too.")
def command(rules: tuple[str, ...], as_json: bool, strict: bool, all_errors: bool,
            sources: tuple[str, ...], run_lint: bool = False) -> None:
    """Validate Falco rules files and print their errors and warnings."""
    loader = RulesLoader(sources=sources or DEFAULT_SOURCES, all_errors=all_errors)
    results = [loader.load_file(path) for path in expand_sources(rules, paths_only=True)]
    if not results:
        raise click.UsageError("no rules files found")
    linted = run_lint and not any(r.errors for r in results)
    findings = lint(loader.result()) if linted else []
    if as_json:
        payload: dict[str, object] = {"falco_load_results": [r.to_json() for r in results]}
        if run_lint:
            payload["lint_findings"] = [f.to_json() for f in findings] if linted else None
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(_text_report(results, color=sys.stdout.isatty()))
        if linted:
            click.echo("\n" + _lint_report(findings, color=sys.stdout.isatty()))
        elif run_lint:
            click.echo("\nLint: skipped, the rules do not load")
    failed = any(r.errors for r in results) or (strict and any(r.warnings for r in results))
    failed = failed or (strict and any(f.severity != "info" for f in findings))
    sys.exit(1 if failed else 0)
