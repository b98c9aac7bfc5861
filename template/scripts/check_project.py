"""Every check of this project: create the environment with uv, then lint, type-check, test
and validate it. Run it any time with `python scripts/check_project.py`.

onex-node-template runs it once after generating the project (not on `copier update`, and not
with `--skip-tasks` or `-d run_checks=false`), so a new node starts from green. Standard library
only: it runs under any Python 3.9+, including Copier's own interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# (name, command) in order; each runs inside the project's uv environment.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ruff check", ("ruff", "check", ".")),
    ("ruff format --check", ("ruff", "format", "--check", ".")),
    ("mypy --strict", ("mypy", "src", "tests")),
    ("pytest", ("pytest", "-q", "-p", "no:cacheprovider")),
    ("onex validate --strict", ("onex", "validate", "--strict", "src")),
    ("onex-validate-topics", ("onex-validate-topics", "src")),
    ("onex compliance check", ("onex", "compliance", "check", "--repo-root", "src")),
)
RERUN_ALL = "scripts/check_project.py"


def find_uv() -> list[str] | None:
    """The uv command: on PATH, or as a module of this interpreter."""
    if path := shutil.which("uv"):
        return [path]
    probe = subprocess.run(
        [sys.executable, "-m", "uv", "--version"], capture_output=True, check=False
    )
    return [sys.executable, "-m", "uv"] if probe.returncode == 0 else None


def find_python(uv: list[str]) -> str | None:
    """A Python >= 3.12 for uv: UV_PYTHON, what uv finds, else a pyenv-installed one.

    uv finds or downloads an interpreter on most machines; it does not see pyenv's
    versions through pyenv's shims, so look there explicitly before giving up.
    """
    if os.environ.get("UV_PYTHON"):
        return os.environ["UV_PYTHON"]
    found = subprocess.run(
        [*uv, "python", "find", ">=3.12"], capture_output=True, text=True, check=False
    )
    if found.returncode == 0 and found.stdout.strip():
        return found.stdout.strip()
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    versions = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    for version in sorted(versions, reverse=True):
        parts = version.split(".")
        if len(parts) >= 2 and parts[0] == "3" and parts[1].isdigit() and int(parts[1]) >= 12:
            prefix = subprocess.run(
                [pyenv, "prefix", version], capture_output=True, text=True, check=False
            ).stdout.strip()
            candidate = Path(prefix) / "bin" / "python"
            if candidate.exists():
                return str(candidate)
    return None


FROM_COPIER = "--from-copier"


def fail(step: str, rerun: str, project: Path, *, from_copier: bool) -> int:
    print(f"\n[check] FAILED: {step}", file=sys.stderr)
    print(f"[check] rerun it with:  cd {project} && {rerun}", file=sys.stderr)
    print(f"[check] or rerun every check:  cd {project} && python {RERUN_ALL}", file=sys.stderr)
    if from_copier:
        print(
            "[check] Copier deletes a project folder it created when a task fails: generate "
            "again with `copier copy --trust --no-cleanup ...` to keep it and rerun the step, or "
            "with `-d run_checks=false` to skip these checks.",
            file=sys.stderr,
        )
    return 1


def main(argv: list[str]) -> int:
    from_copier = FROM_COPIER in argv
    paths = [arg for arg in argv[1:] if arg != FROM_COPIER]
    project = Path(paths[0] if paths else ".").resolve()
    uv = find_uv()
    if uv is None:
        print(
            "[check] uv is not installed: `pip install uv`, then run\n"
            f"  cd {project} && python {RERUN_ALL}",
            file=sys.stderr,
        )
        return 1
    python = find_python(uv)
    if python is None:
        print(
            "[check] no Python >= 3.12 found: install one "
            "(`uv python install 3.12`) or set UV_PYTHON to its path",
            file=sys.stderr,
        )
        return 1
    env = {**os.environ, "UV_PYTHON": python}
    print(f"[check] uv sync (Python {python})", flush=True)
    if subprocess.run([*uv, "sync", "--quiet"], cwd=project, env=env, check=False).returncode:
        return fail("uv sync", "uv sync", project, from_copier=from_copier)
    for name, command in STEPS:
        print(f"[check] {name}", flush=True)
        result = subprocess.run(
            [*uv, "run", "--no-sync", *command], cwd=project, env=env, check=False
        )
        if result.returncode:
            return fail(name, "uv run " + " ".join(command), project, from_copier=from_copier)
    print("[check] all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
