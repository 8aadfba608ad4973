"""The code stays clean by the project's own ruff configuration (pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from supervisor.settings import PROJECT_ROOT


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(PROJECT_ROOT / ".venv" / "bin")) or shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    out = subprocess.run([*cmd, "check", "supervisor", "tests", "bench"], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
