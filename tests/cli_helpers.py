"""Helpers of the CLI tests: run ``vqcodec`` in-process, and recognise a one-line error."""

from __future__ import annotations

from click.testing import CliRunner

from vqcodec.cli.main import cli


def run(*args: str, input: bytes | None = None) -> tuple[int, str, bytes]:
    """``(exit code, stderr text, stdout bytes)`` of ``vqcodec ARGS``."""
    res = CliRunner().invoke(cli, list(args), input=input)
    return res.exit_code, res.stderr if res.stderr_bytes is not None else res.output, res.stdout_bytes


def one_error_line(text: str) -> bool:
    """True when ``text`` is exactly one ``Error: ...`` line and no traceback."""
    lines = [ln for ln in text.strip().splitlines() if ln]
    return len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in text
