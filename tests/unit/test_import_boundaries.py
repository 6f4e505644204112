"""ingress, processors and sinks may import schemas, never each other; schemas imports none."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "ingress", "processors", "sinks")


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_it_may(package: str) -> None:
    allowed = {package} if package == "schemas" else {package, "schemas"}
    files = list((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        bad = imported_packages(path) - allowed
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
