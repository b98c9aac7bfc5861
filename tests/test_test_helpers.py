"""The suite's own checks of nested runs and services (tests/conftest.py) can fail.

Fast: no project is generated; the nested pytest is a two-test file run in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    REQUIRE_SERVICES,
    assert_nested_pytest_passed,
    nested_pytest_summary,
    service_unavailable,
)

NESTED = """
import pytest

def test_runs():
    assert True

@pytest.mark.skip(reason="no server here")
def test_needs_a_server():
    assert True
"""


@pytest.mark.parametrize(
    ("output", "counts"),
    [
        ("..s\n2 passed, 1 skipped in 4.13s\n", {"passed": 2, "skipped": 1}),
        (
            "== 1 failed, 3 errors, 2 warnings in 0.50s (0:00:00) ==",
            {"failed": 1, "error": 3, "warning": 2},
        ),
        (
            "3 passed in 1.0s\nlater noise\n1 passed, 1 deselected in 2.0s",
            {"passed": 1, "deselected": 1},
        ),
        ("no tests ran in 0.01s", {}),
    ],
)
def test_summary_counts_come_from_the_last_summary_line(
    output: str, counts: dict[str, int]
) -> None:
    assert nested_pytest_summary(output) == counts


def test_output_without_a_summary_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="no pytest summary"):
        nested_pytest_summary("[check] all checks passed\n")


def test_skips_must_be_named_by_the_caller(tmp_path: Path) -> None:
    (tmp_path / "test_nested.py").write_text(NESTED)
    report = tmp_path / "report.xml"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout

    assert assert_nested_pytest_passed(completed.stdout, report, {"test_needs_a_server"}) == {
        "passed": 1,
        "skipped": 1,
    }
    with pytest.raises(AssertionError, match="test_needs_a_server"):
        assert_nested_pytest_passed(completed.stdout, report)  # an unexpected skip
    with pytest.raises(AssertionError, match="test_other"):
        assert_nested_pytest_passed(  # an expected skip that did not happen
            completed.stdout, report, {"test_needs_a_server", "test_other"}
        )


def test_a_missing_service_skips_or_fails_with_the_same_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE_SERVICES, raising=False)
    with pytest.raises(pytest.skip.Exception, match="frobd is not installed"):
        service_unavailable("frobd is not installed")
    monkeypatch.setenv(REQUIRE_SERVICES, "1")
    with pytest.raises(pytest.fail.Exception, match="frobd is not installed"):
        service_unavailable("frobd is not installed")
