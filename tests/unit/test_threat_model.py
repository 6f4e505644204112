"""Every row of the README's threat model names tests, and every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?(?:::\w+)?)`")


def threat_rows() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    table = text.split("### Threat model", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| **")]
    return [(row.split("|")[1].strip(), row.split("|")[3]) for row in rows]


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_the_threat_model_covers_what_the_issue_lists() -> None:
    threats = " ".join(name for name, _ in threat_rows()).lower()
    for threat in (
        "spoofing",
        "replay",
        "tampering",
        "denial of service",
        "ssrf",
        "rotation",
        "leakage",
        "insider replay",
    ):
        assert threat in threats


def test_every_row_names_tests_that_exist() -> None:
    rows = threat_rows()
    assert len(rows) >= 8
    for name, shown_by in rows:
        references = [r for r in REFERENCE.findall(shown_by) if r]
        assert references, f"{name} names no test"
        current: Path | None = None
        for reference in references:
            path, _, function = reference.partition("::")
            if path:
                current = ROOT / path
                assert current.is_file(), f"{name}: {path} does not exist"
            assert current is not None, f"{name}: {reference} has no file before it"
            if function:
                assert function in defined_tests(current), (
                    f"{name}: {current.name}::{function} does not exist"
                )
            else:
                assert any(t.startswith("test_") for t in defined_tests(current)), (
                    f"{name}: {path} has no tests"
                )
