"""A malformed service address is one CONFIGURATION_ERROR line naming the variable.

Each variable gets a malformed value holding a recognisable secret; the generated node's
command line (serve, --input, --health-check) must exit non-zero with one line that names the
variable, no traceback, and no part of the secret anywhere in its output.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import generate, sync_environment

pytestmark = [pytest.mark.slow]

SERVICE = "config_errors"
PREFIX = SERVICE.upper() + "_"
SECRET = "hunter2-s3cret"

# variable, malformed value (the secret inside it), the command line's extra arguments
CASES: list[tuple[str, str, list[str]]] = [
    ("DATABASE_URL", f"postgresql://onex:{SECRET}@db:notaport/orders", []),
    ("DATABASE_URL", f"postgresql://onex:{SECRET}@db:notaport/orders", ["--input", "{}"]),
    ("DATABASE_URL", f"postgresql://onex:{SECRET}@db:notaport/orders", ["--health-check"]),
    ("REDIS_URL", f"redis://:{SECRET}@cache:port/0", []),
    ("REDIS_URL", f"redis://:{SECRET}@cache:port/0", ["--input", "{}"]),
    ("KAFKA_BOOTSTRAP_SERVERS", f"broker:9092,{SECRET}@broker:x", []),
    ("CONSUL_HTTP_ADDR", f"http://{SECRET}@agent", []),
    (f"{PREFIX}HTTP_CLIENT_BASE_URL", f"https://api:{SECRET}@upstream:tls/", []),
]


@pytest.fixture(scope="module")
def project(copie_session: Any) -> Path:
    project = generate(
        copie_session,
        service_name=SERVICE,
        node_type="effect",
        integrations=["postgres", "kafka", "redis", "http", "consul"],
    )
    sync_environment(project)
    return project


# Runs in the project's .venv: calls the console script's main() once per case, the process's
# stdout and stderr (file descriptors 1 and 2, so whatever logging holds them) captured apart.
# One process for every case: importing omnibase_core costs seconds, main() milliseconds.
DRIVER = """
import json, os, sys, tempfile, traceback
from importlib.metadata import entry_points

(script,) = entry_points(group="console_scripts", name=sys.argv[1])
main = script.load()
results = []
for variable, value, arguments in json.loads(sys.argv[2]):
    os.environ[variable] = value
    captured = [tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")]
    saved = [os.dup(1), os.dup(2)]
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(captured[0].fileno(), 1), os.dup2(captured[1].fileno(), 2)
    try:
        code = main(arguments)
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        traceback.print_exc()  # what the command line would have shown
        code = "raised"
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        del os.environ[variable]
    out, err = ((f.seek(0), f.read())[1] for f in captured)
    results.append({"code": code, "stdout": out, "stderr": err})
print(json.dumps(results))
"""


def test_malformed_addresses_are_one_line_naming_the_variable_and_no_secret(
    project: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith((PREFIX, "DATABASE_", "REDIS_", "KAFKA_", "CONSUL_"))
    }
    # A token set beside a malformed agent address must not leak either; port 0: never a clash.
    env |= {"CONSUL_HTTP_TOKEN": SECRET, f"{PREFIX}HTTP_PORT": "0"}
    completed = subprocess.run(
        [
            str(project / ".venv" / "bin" / "python"),
            "-c",
            DRIVER,
            SERVICE.replace("_", "-"),
            json.dumps(CASES),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(completed.stdout.splitlines()[-1])

    failures: list[str] = []
    for (variable, _, arguments), result in zip(CASES, results, strict=True):
        output = result["stdout"] + result["stderr"]
        named = [line for line in output.splitlines() if "invalid configuration" in line]
        case = f"{variable} {' '.join(arguments) or '(serve)'}"
        if result["code"] in (0, None, "raised"):
            failures.append(f"{case}: exit code {result['code']}")
        if SECRET in output or SECRET[:7] in output:
            failures.append(f"{case}: the secret is in the output")
        if "Traceback" in output:
            failures.append(f"{case}: a traceback")
        if len(named) != 1 or variable not in named[0] or named[0] not in result["stderr"]:
            failures.append(f"{case}: not one stderr line naming the variable: {named}")
    assert len(results) == len(CASES)
    assert not failures, "\n".join(failures)
