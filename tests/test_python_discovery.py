"""A generated project's scripts/check_project.py on a machine where uv finds no Python 3.12.

The case from the field: pyenv's shims on PATH (its `python3.12` shim exits 127 when 3.12 is
not the active version, and uv stops at it with a multi-line error), no pyenv command, no
interpreter uv manages, downloads off. The script must say so in one line with the fix
instead of failing inside uv sync.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import generate, load_script

SHIM = """#!/bin/sh
echo "pyenv: $(basename "$0"): command not found" >&2
exit 127
"""


def real_uv() -> str:
    """The uv binary itself (not a pyenv shim): uv tells its children where it is."""
    if os.environ.get("UV"):
        return os.environ["UV"]
    probe = subprocess.run(
        ["uv", "run", "--no-project", "python", "-c", "import os; print(os.environ['UV'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return probe.stdout.strip()


@pytest.fixture
def no_python_3_12(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds uv and pyenv-like shims that fail, and nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").symlink_to(real_uv())
    for name in ("python3.12", "python3", "python"):
        (bin_dir / name).write_text(SHIM)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "uv-pythons").mkdir()
    kept = {"HOME", "LANG", "TMPDIR", "UV_CACHE_DIR"}
    return {
        **{key: value for key, value in os.environ.items() if key in kept},
        "PATH": str(bin_dir),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uv-pythons"),
    }


def run_check(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/check_project.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_python_3_12_is_one_line_with_the_fix(
    copie: Any, no_python_3_12: dict[str, str]
) -> None:
    project = generate(copie)

    alone = run_check(project, no_python_3_12)
    from_copier = run_check(project, no_python_3_12, "--from-copier")
    shim = str(Path(no_python_3_12["PATH"]) / "python3.12")
    asked = run_check(project, {**no_python_3_12, "UV_PYTHON": shim})

    fix = "set UV_PYTHON=/path/to/python3.12 and"
    for completed, line in (
        (alone, f"[check] no Python >= 3.12 found: {fix} rerun python scripts/check_project.py"),
        (from_copier, f"[check] no Python >= 3.12 found: {fix} generate again"),
        (asked, f"[check] UV_PYTHON={shim} is not a Python >= 3.12: {fix} rerun python "),
    ):
        assert completed.returncode == 1
        assert completed.stderr.strip().startswith(line), completed.stderr
        assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
        # nothing from uv: it was never asked to sync
        assert completed.stdout == ""
        assert "Traceback" not in completed.stderr
        assert "error:" not in completed.stderr
    assert not (project / ".venv").exists()


def test_a_usable_uv_python_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same discovery accepts a real Python >= 3.12 (this one)."""
    check = load_script(Path(__file__).parents[1] / "template" / "scripts" / "check_project.py")
    uv = check.find_uv()
    assert uv
    monkeypatch.setenv("UV_PYTHON", sys.executable)
    found = check.find_python(uv)
    assert found is not None
    assert Path(found).resolve() == Path(sys.executable).resolve()
