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
    versions through pyenv's shims (it stops at a shim whose version is not active), so look
    there explicitly before giving up. A UV_PYTHON that is not a Python >= 3.12 gives None:
    the user asked for that one, so no other is taken in its place.
    """
    if os.environ.get("UV_PYTHON"):
        return _at_least_3_12(uv, os.environ["UV_PYTHON"])
    found = _uv_python_find(uv, ">=3.12")
    if found:
        return found
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


def _uv_python_find(uv: list[str], request: str) -> str | None:
    """The interpreter `uv python find` resolves `request` to (a path or a version), or None.
    UV_PYTHON is left out of its environment: uv would apply it on top of the request."""
    env = {key: value for key, value in os.environ.items() if key != "UV_PYTHON"}
    found = subprocess.run(
        [*uv, "python", "find", request], capture_output=True, text=True, env=env, check=False
    )
    if found.returncode != 0:
        return None
    return found.stdout.strip() or None


def _at_least_3_12(uv: list[str], request: str) -> str | None:
    python = _uv_python_find(uv, request)
    if python is None:
        return None
    probe = subprocess.run(
        [python, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
        capture_output=True,
        check=False,
    )
    return python if probe.returncode == 0 else None


def no_python_message(*, from_copier: bool) -> str:
    """One line: which Python is missing and how to point uv at one."""
    rerun = "generate again" if from_copier else f"rerun python {RERUN_ALL}"
    asked = os.environ.get("UV_PYTHON")
    found = f"UV_PYTHON={asked} is not a Python >= 3.12" if asked else "no Python >= 3.12 found"
    return f"[check] {found}: set UV_PYTHON=/path/to/python3.12 and {rerun}"


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
        # Said here, in one line, rather than by uv sync failing on an interpreter it cannot
        # use (a pyenv shim, a too-old UV_PYTHON) with a multi-line error of its own.
        print(no_python_message(from_copier=from_copier), file=sys.stderr)
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
