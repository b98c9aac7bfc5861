"""Shared helpers of the template's own test suite.

Generating a project goes through pytest-copie (the real Copier API, from this checkout);
checking it runs the generated project's own `scripts/check_project.py`, the same script the
post-generation task runs, so the suite proves exactly what a user gets.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE_ROOT / "extensions"))

pytest_plugins = [
    "service_consul",
    "service_http",
    "service_kafka",
    "service_postgres",
    "service_redis",
]


def copier_choices(question: str) -> list[str]:
    """The choices copier.yml offers for `question` (the matrices are built from these)."""
    config = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    return list(config[question]["choices"])


def generate(copie: Any, **answers: Any) -> Path:
    """Generate a project with `answers` on top of the defaults; tasks are left to the test."""
    result = copie.copy(extra_answers={"run_checks": False, **answers})
    assert result.exception is None, f"copier failed: {result.exception!r}"
    assert result.exit_code == 0
    return Path(result.project_dir)


def run_checks(project: Path, *, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the project's own check script; fails the test with its output on error."""
    completed = subprocess.run(
        [sys.executable, "scripts/check_project.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ},
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(
            f"checks failed in {project}:\n{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}"
        )
    return completed


def project_python(project: Path) -> Path:
    """The interpreter of the environment check_project.py created for `project`."""
    return project / ".venv" / "bin" / "python"


def project_answers(project: Path) -> dict[str, Any]:
    """The answers Copier recorded in the generated project."""
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def project_spec(project: Path) -> Any:
    """The NodeSpec (extensions/node_spec.py) the project was generated from."""
    import node_spec

    return node_spec.build_spec(project_answers(project))


def node_class_path(project: Path) -> tuple[str, str]:
    """(module, class name) of the project's node class."""
    spec = project_spec(project)
    return f"{spec.package_name}.nodes.{spec.node_name}.handler", spec.class_name


def load_script(path: Path) -> Any:
    """A script of the template (not on any import path) loaded as a module."""
    spec = importlib.util.spec_from_file_location(f"template_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sync_environment(project: Path) -> Path:
    """Create `project`'s .venv exactly as check_project.py does (its `uv sync` step only)."""
    # The generated projects' own check script, so this matches what their task does.
    check = load_script(TEMPLATE_ROOT / "template" / "scripts" / "check_project.py")
    uv = check.find_uv()
    python = check.find_python(uv) if uv else None
    assert uv, "uv is needed (see scripts/test-all.sh)"
    assert python, "a Python >= 3.12 is needed: set UV_PYTHON (see scripts/test-all.sh)"
    subprocess.run(
        [*uv, "sync", "--quiet"],
        cwd=project,
        env={**os.environ, "UV_PYTHON": python},
        check=True,
        timeout=600,
    )
    return project_python(project)


def run_python(
    project: Path, code: str, *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `code` with `project`'s .venv python (where omnibase_core is installed)."""
    return subprocess.run(
        [str(project_python(project)), "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def default_project(copie_session: Any) -> Path:
    """One default project with its .venv, generated once per test session (per xdist worker):
    the tests that need the pinned omnibase_core run their probes with its python. Mark them
    `@pytest.mark.xdist_group("default_project")` so `--dist loadgroup` builds it only once."""
    project = generate(copie_session)
    sync_environment(project)
    return project
