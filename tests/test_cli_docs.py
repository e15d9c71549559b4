"""The command-line reference docs/cli.md is generated from the click commands (scripts/gen-cli-docs.py)
and must not drift from their --help; every command's --help shows an example; the help texts say
what each option does for that command."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tripgen_cdk8s.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen-cli-docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
COMMANDS = [name for name, _cmd in GEN.commands()]


def test_cli_reference_is_up_to_date():
    assert (ROOT / "docs" / "cli.md").read_text() == GEN.generate(), \
        "docs/cli.md differs from the commands' --help: run .venv/bin/python scripts/gen-cli-docs.py"


def test_the_reference_documents_every_command():
    text = (ROOT / "docs" / "cli.md").read_text()
    assert set(COMMANDS) >= {"tripgen", "tripgen synth", "tripgen validate", "tripgen diff", "tripgen graph",
                             "tripgen publish", "tripgen release", "tripgen release set", "tripgen release promote",
                             "tripgen release show"}
    for name in COMMANDS:
        assert f"## `{name}`" in text, name


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_has_an_example(name):
    args = name.split()[1:] + ["--help"]
    result = CliRunner().invoke(cli, args, terminal_width=100)
    assert result.exit_code == 0, result.output
    examples = result.output.split("Examples:\n", 1)
    assert len(examples) == 2, f"`{name} --help` has no Examples section"
    lines = [line.strip() for line in examples[1].splitlines() if line.strip()]
    assert lines and any(line.startswith(("tripgen ", "helm ")) for line in lines), lines
    # the example names the command it documents
    assert any(line.startswith(name) for line in lines), (name, lines)


def _option_help(args: list[str], option: str) -> str:
    cmd: click.Command = cli
    ctx = click.Context(cli, info_name="tripgen")
    for part in args:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[part]
        ctx = click.Context(cmd, info_name=part, parent=ctx)
    [param] = [p for p in cmd.params if option in getattr(p, "opts", ())]
    assert isinstance(param, click.Option)
    return param.help or ""


@pytest.mark.parametrize(("args", "verb"), [(["synth"], "generate"), (["validate"], "check"),
                                            (["diff"], "compare"), (["release", "show"], "show")])
def test_env_option_says_what_the_command_does_with_it(args, verb):
    assert _option_help(args, "--env").startswith(f"Environment to {verb} ")


def test_no_help_calls_files_on_disk_committed():
    """The charts a command reads are the files on disk, committed or not."""
    for name in COMMANDS:
        result = CliRunner().invoke(cli, name.split()[1:] + ["--help"], terminal_width=100)
        assert "committed charts" not in result.output, name
