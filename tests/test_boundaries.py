"""The package boundaries of pyproject.toml's [tool.importlinter] contracts hold.

The runtime (``inspector``, ``point_cloud``) must not import torch, timm or ``training`` (the
line PC's venv has none of them), and the decision core ``inspector.decision`` must not import
the transport or the store (paho, sqlalchemy). Indirect imports count.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("inspector", "point_cloud", "synth_defects", "training")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("importlinter") is None,
                                reason="import-linter not installed (the dev extra)")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` in ``cwd``: the contracts of its pyproject.toml, its packages."""
    exe = Path(sys.executable).parent / "lint-imports"       # the venv's console script
    return subprocess.run([str(exe), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_the_contracts_are_kept() -> None:
    res = lint_imports(REPO)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in res.stdout, res.stdout[-2000:]


def test_a_forbidden_import_breaks_the_contracts(tmp_path: Path) -> None:
    """The same contracts on a copy of the packages with three forbidden imports added:
    one direct (point_cloud -> torch), one through another module (inspector -> training)
    and one in the decision core (-> sqlalchemy)."""
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (tmp_path / "point_cloud" / "_probe_torch.py").write_text("import torch\n")
    (tmp_path / "inspector" / "_probe_training.py").write_text(
        "from synth_defects import _probe_bridge\n")
    (tmp_path / "synth_defects" / "_probe_bridge.py").write_text("import training.cli\n")
    (tmp_path / "inspector" / "decision" / "_probe_store.py").write_text(
        "from sqlalchemy import select\n")
    res = lint_imports(tmp_path)
    out = res.stdout
    assert res.returncode == 1, out[-4000:] + res.stderr[-2000:]
    assert "Contracts: 0 kept, 2 broken." in out, out[-3000:]
    assert "point_cloud._probe_torch -> torch" in out, out[-3000:]
    assert "inspector._probe_training -> synth_defects._probe_bridge" in out, out[-3000:]
    assert "inspector.decision._probe_store -> sqlalchemy" in out, out[-3000:]
