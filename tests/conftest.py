"""Shared helpers of the template's own test suite.

Generating a project goes through pytest-copie (the real Copier API, from this checkout);
checking it runs the generated project's own `scripts/check_project.py`, the same script the
post-generation task runs, so the suite proves exactly what a user gets.
"""

from __future__ import annotations

import ast
import atexit
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, NoReturn

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


# Markers of heavier matrices: the default run deselects their tests (it runs a sample of each
# matrix instead); a `-m` expression naming the marker runs them, e.g. `-m mutation_full`.
FULL_MATRIX_MARKERS = (
    "mutation_full",
    "history_full",
    "projects_full",
    "update_full",
    "variants_full",
)
# A case of a full matrix that the default run keeps anyway: its rotating sample (matrix_sample).
SAMPLE_MARKER = "matrix_sample"
# Overrides the sample's seed (HEAD's commit): rerun another commit's sample with its sha.
SAMPLE_SEED = "ONEX_TEMPLATE_SAMPLE_SEED"


def pytest_configure(config: pytest.Config) -> None:
    """One mypy cache for every project this process checks (each xdist worker has its own),
    handed to every check script the tests run (run_checks, Copier's tasks, update migrations).

    mypy --strict of a project with no cache spends ~28 of its ~38 s reading omnibase_core and
    pydantic, which every generated project pins at the same version; with a warm cache ~2 s.
    mypy checks each cached module against its source (a different path forces a hash
    comparison), so the projects' own modules, which differ from project to project, are
    always checked afresh. One cache per process: mypy does not lock its cache for writers.
    """
    xdist_controller = bool(config.getoption("numprocesses", default=None)) and not hasattr(
        config, "workerinput"
    )
    if "MYPY_CACHE_DIR" not in os.environ and not xdist_controller:  # workers make their own
        cache = tempfile.mkdtemp(prefix="onex-mypy-cache-")
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
        os.environ["MYPY_CACHE_DIR"] = cache
    if not hasattr(config, "workerinput"):
        # The xdist workers inherit the seed: they sample alike even if HEAD moves meanwhile.
        os.environ[SAMPLE_SEED] = sample_seed()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the full matrices that the `-m` expression (if any) does not name, bar their
    sampled cases (marked matrix_sample)."""
    expression = config.getoption("markexpr") or ""
    left_out = [marker for marker in FULL_MATRIX_MARKERS if marker not in expression]
    full = [
        i
        for i in items
        if any(i.get_closest_marker(m) for m in left_out)
        and not i.get_closest_marker(SAMPLE_MARKER)
    ]
    if full:
        config.hook.pytest_deselected(items=full)
        items[:] = [item for item in items if item not in full]


def sample_seed() -> str:
    """The seed of the default run's samples: $ONEX_TEMPLATE_SAMPLE_SEED, else HEAD's commit
    (so successive commits sample different cases, and every xdist worker the same ones),
    else "0" outside a git checkout."""
    if seed := os.environ.get(SAMPLE_SEED, "").strip():
        if not re.fullmatch(r"[0-9a-fA-F]+", seed):
            raise pytest.UsageError(f"{SAMPLE_SEED}={seed!r}: give a commit sha (hex digits)")
        return seed
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=False
    )
    return head.stdout.strip() if head.returncode == 0 else "0"


def matrix_sample(cases: list[Any], group: Callable[[Any], str], marker: str) -> list[Any]:
    """`cases` (pytest.param objects), each marked `marker` (a FULL_MATRIX_MARKERS name), and
    one per `group` (e.g. per node type) also marked matrix_sample: the default run runs those,
    `-m <marker>` every case. Within the i-th group (in order of first appearance) the case at
    (int(seed, 16) + i) % len(group) is sampled: the seed (sample_seed()) rotates with the
    commit, so successive CI runs cover the whole matrix over time; the header of the run
    names the seed, and the sampled test ids name their cases."""
    groups: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        groups.setdefault(group(case), []).append(index)
    seed = int(sample_seed(), 16)
    sampled = {members[(seed + i) % len(members)] for i, members in enumerate(groups.values())}
    return [
        pytest.param(
            *case.values,
            id=case.id,
            marks=[
                *case.marks,
                getattr(pytest.mark, marker),
                *([getattr(pytest.mark, SAMPLE_MARKER)] if index in sampled else []),
            ],
        )
        for index, case in enumerate(cases)
    ]


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"matrix samples: seed {sample_seed()[:12]} (rerun them with {SAMPLE_SEED}=<seed>; "
        f'whole matrices: -m "{" or ".join(FULL_MATRIX_MARKERS)}")'
    )


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


class ChecksRun(subprocess.CompletedProcess[str]):
    """A passed check_project.py run, with the tests its pytest passed."""

    passed: list[str]  # "<dotted module>.<test name>" of each passed test, as JUnit names them


def run_checks(
    project: Path, *, expected_skips: Collection[str] = (), timeout: float = 900
) -> ChecksRun:
    """Run the project's own check script; fails the test with its output on error, and when
    its pytest skipped any test not named in `expected_skips`, or did not skip one named there
    (names as assert_nested_pytest_passed takes them, e.g. the integration tests of a service
    this test did not start: integration_tests(project))."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "pytest-report.xml"
        # A JUnit report names the skipped tests without changing what pytest prints.
        addopts = f"{os.environ.get('PYTEST_ADDOPTS', '')} --junitxml={report}".strip()
        completed = subprocess.run(
            [sys.executable, "scripts/check_project.py"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTEST_ADDOPTS": addopts},
            check=False,
        )
        if completed.returncode != 0:
            pytest.fail(
                f"checks failed in {project}:\n{completed.stdout[-6000:]}\n"
                f"{completed.stderr[-6000:]}"
            )
        assert_nested_pytest_passed(completed.stdout, report, expected_skips)
        checked = ChecksRun(
            completed.args, completed.returncode, completed.stdout, completed.stderr
        )
        checked.passed = junit_tests(report, "passed")
    return checked


# The last line of a pytest run: "26 passed, 2 skipped in 4.13s" (with -q), or the same
# between "=" rules at other verbosities.
SUMMARY_LINE = re.compile(
    r"^=*[ ]*(?P<counts>(?:\d+ [a-z]+(?:, )?)+) in [\d.]+s\b.*$|^=*[ ]*no tests ran in .*$",
    re.MULTILINE,
)


def nested_pytest_summary(output: str) -> dict[str, int]:
    """The counts of the last pytest summary line in `output`, e.g. {"passed": 26,
    "skipped": 2}; plural words are made singular ("errors" -> "error"). Fails the test when
    there is no summary line."""
    lines = list(SUMMARY_LINE.finditer(output))
    if not lines:
        pytest.fail(f"no pytest summary line in the output:\n{output[-3000:]}")
    counts: dict[str, int] = {}
    for item in (lines[-1].group("counts") or "").split(", "):
        if item:
            number, word = item.split(" ")
            counts[word.removesuffix("s") if word in {"errors", "warnings"} else word] = int(number)
    return counts


def junit_tests(report: Path, outcome: str) -> list[str]:
    """ "<dotted module>.<test name>" of each test a JUnit report (pytest --junitxml) lists
    with `outcome`: passed, skipped, failure or error."""
    found = []
    for case in ET.parse(report).getroot().iter("testcase"):
        marks = {child.tag for child in case} & {"skipped", "failure", "error"}
        if (outcome in marks) or (outcome == "passed" and not marks):
            found.append(f"{case.get('classname')}.{case.get('name')}")
    return sorted(found)


def assert_nested_pytest_passed(
    output: str, report: Path, expected_skips: Collection[str] = ()
) -> dict[str, int]:
    """A nested pytest run (its output, its JUnit report) ran tests, none failed, and it
    skipped exactly the tests `expected_skips` names. A name is a test function's, or its
    dotted id ("tests.integration.test_redis_integration.test_x"); a parametrized test is
    named without its parameters."""
    counts = nested_pytest_summary(output)
    assert counts.get("passed", 0) > 0, f"no test passed: {counts}"
    assert not {"failed", "error"} & counts.keys(), f"nested pytest failed: {counts}"
    assert len(junit_tests(report, "passed")) == counts["passed"], counts
    skipped = junit_tests(report, "skipped")
    assert len(skipped) == counts.get("skipped", 0), (skipped, counts)
    unnamed = [
        test
        for test in skipped
        if not {test.split("[")[0], test.split("[")[0].rsplit(".", 1)[-1]} & set(expected_skips)
    ]
    assert unnamed == [], f"skipped without being expected: {unnamed}"
    bases = {test.split("[")[0] for test in skipped}
    not_skipped = [
        name for name in expected_skips if name not in bases | {b.rsplit(".", 1)[-1] for b in bases}
    ]
    assert not_skipped == [], f"expected to be skipped, but were not: {not_skipped}"
    return counts


def integration_tests(project: Path) -> list[str]:
    """Dotted ids of the project's tests marked `integration` (by decorator or by the module's
    pytestmark): the ones that skip when their service is not configured. Read with ast."""
    found = []
    for path in sorted((project / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        module_marked = any(
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
            and "mark.integration" in ast.unparse(node.value)
            for node in tree.body
        )
        module = ".".join(path.relative_to(project).with_suffix("").parts)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                decorators = " ".join(ast.unparse(d) for d in node.decorator_list)
                if module_marked or "mark.integration" in decorators:
                    found.append(f"{module}.{node.name}")
    return found


# With this set (scripts/test-all.sh and CI set it), a missing service fails the test instead
# of skipping it, so a run that claims to cover the integrations cannot silently skip them.
REQUIRE_SERVICES = "ONEX_TEMPLATE_REQUIRE_SERVICES"


def service_unavailable(message: str) -> NoReturn:
    """Skip the test needing a service that is not available here; fail it, with the same
    message, when ONEX_TEMPLATE_REQUIRE_SERVICES=1."""
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{message} ({REQUIRE_SERVICES}=1 requires every service)", pytrace=False)
    pytest.skip(message)


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
