"""The layout rules of ../shared/ARCHITECTURE.md, checked on every test run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("adapters", "protocol", "drivers", "station", "controller", "rekam")


def _modules(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_no_product_module_passes_500_lines():
    big = {str(p.relative_to(ROOT)): n for p in _modules(*PRODUCT)
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert big == {}, f"split these along their sections: {big}"


def test_benchmarks_use_the_installed_project_and_build_their_own_fixtures():
    for path in _modules("bench"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] != "tests", f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "tests" for a in node.names), path.name
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                raise AssertionError(f"{path.name} edits sys.path; bench/ runs against the installed project")
