"""The test suite's own hygiene: no check hidden in an assertion's message, where it is never evaluated as a check."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
_CHECK_CALLS = {"is_file", "is_dir", "exists", "startswith", "endswith", "isinstance", "all", "any", "equal"}


def _looks_like_a_check(node: ast.expr) -> bool:
    """A boolean-valued expression: a comparison, ``and``/``or``/``not``, or a predicate call."""
    if isinstance(node, (ast.Compare, ast.BoolOp)) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _CHECK_CALLS
    return False


def test_no_assertion_message_holds_a_check() -> None:
    found = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assert) and node.msg is not None and _looks_like_a_check(node.msg):
                found.append(f"{path.name}:{node.lineno}")
    assert found == [], f"assertion messages that look like checks (they are never evaluated as checks): {found}"


def test_the_scan_finds_the_mistake() -> None:
    bad = ast.parse("assert code == 0, out and path.is_file()").body[0]
    good = ast.parse("assert code == 0 and path.is_file(), out").body[0]
    assert isinstance(bad, ast.Assert) and isinstance(good, ast.Assert)
    assert bad.msg is not None and _looks_like_a_check(bad.msg)
    assert good.msg is not None and not _looks_like_a_check(good.msg)
