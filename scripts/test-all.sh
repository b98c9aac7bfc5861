#!/usr/bin/env bash
# Runs the template's whole test suite, setting up on a fresh Debian machine what it needs:
# uv, a Python >= 3.12 for the generated projects, PostgreSQL and Redis (Debian packages);
# the Kafka-protocol broker (tansu) comes from the dev dependencies. Extra arguments go to
# pytest, e.g. `bash scripts/test-all.sh -k reducer`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null
fi
command -v uv >/dev/null || python3 -m pip install -q uv

# Generated projects need Python >= 3.12. CPython 3.12 first: compiled/ holds the template's
# Jinja compiled for it, and tests/test_compiled_templates.py can only check that archive on
# it. Else any Python >= 3.12, found the way the projects' check script finds one.
if [ -z "${UV_PYTHON:-}" ]; then
    UV_PYTHON="$(uv python find --system 3.12 2>/dev/null || true)"
fi
if [ -z "${UV_PYTHON:-}" ] && command -v pyenv >/dev/null; then
    version="$(pyenv versions --bare | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -1 || true)"
    if [ -n "$version" ]; then UV_PYTHON="$(pyenv prefix "$version")/bin/python"; fi
fi
if [ -z "${UV_PYTHON:-}" ]; then
    UV_PYTHON="$(python3 -c 'import sys; sys.path.insert(0, "template/scripts"); import check_project as c; print(c.find_python(c.find_uv() or ["uv"]) or "")')"
    if [ -z "$UV_PYTHON" ]; then echo "no Python >= 3.12 found: set UV_PYTHON" >&2; exit 1; fi
fi
export UV_PYTHON

# A missing service fails the tests that need it instead of skipping them (tests/conftest.py).
export ONEX_TEMPLATE_REQUIRE_SERVICES=1

uv sync --quiet
# --durations: the slowest tests close every run's report, so the CI budget (20 min on 2 cores;
# heavy matrices sampled, README.md) shows where it goes.
exec uv run pytest -n 2 --dist loadgroup --durations=15 "$@"
