"""A requirements (PRD) file fed with `copier copy --data-file`, as README shows it.

The example files in tests/data/ are the documentation: every answer they give is recorded in
the generated project's .copier-answers.yml, the answers they leave out are derived (node_type
from the description, integrations from the domain, operations, features and dependencies),
and `-d key=value` on the command line wins over the file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEMPLATE_ROOT, project_answers

DATA = Path(__file__).parent / "data"
ORDER_LEDGER = DATA / "prd_order_ledger.yaml"
DAILY_SALES = DATA / "prd_daily_sales.yaml"


def copy_with_prd(destination: Path, prd: Path, *overrides: str) -> dict[str, Any]:
    """`copier copy --data-file prd [-d ...]` through the CLI; returns the recorded answers."""
    args = [arg for override in overrides for arg in ("-d", override)]
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",  # this checkout as it is, not its latest release tag
            "--data-file",
            str(prd),
            "-d",
            "run_checks=false",
            *args,
            str(TEMPLATE_ROOT),
            str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return project_answers(destination)


def prd(path: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load(path.read_text())
    return answers


def test_example_prd_is_realistic() -> None:
    """README shows this file: it must carry every PRD field, and no derived answer."""
    answers = prd(ORDER_LEDGER)
    assert set(answers) == {
        "service_name",
        "business_description",
        "domain",
        "operations",
        "features",
        "dependencies",
    }
    assert len(answers["operations"]) >= 3
    assert answers["features"]
    assert answers["dependencies"]


@pytest.mark.parametrize(
    ("path", "node_type", "integrations"),
    [
        (ORDER_LEDGER, "effect", ["postgres", "kafka", "redis"]),
        (DAILY_SALES, "reducer", []),
    ],
)
def test_prd_file_answers_are_recorded_and_derived(
    tmp_path: Path, path: Path, node_type: str, integrations: list[str]
) -> None:
    recorded = copy_with_prd(tmp_path / "project", path)
    # every answer of the file, as given
    assert {key: recorded[key] for key in prd(path)} == prd(path)
    # the derived ones
    assert recorded["node_type"] == node_type
    assert recorded["integrations"] == integrations
    assert recorded["package_name"] == recorded["service_name"]
    # and the project is the node they describe
    name = recorded["service_name"]
    node_dir = tmp_path / "project" / "src" / name / "nodes" / f"node_{name}_{node_type}"
    handler = (node_dir / "handler.py").read_text()
    for op in recorded["operations"]:
        assert f"async def handle_{op}(" in (node_dir / "handlers" / f"handler_{op}.py").read_text()
    assert f"node of {name}: {', '.join(recorded['operations'])}" in handler


def test_prd_decision_log_explains_the_derived_answers(tmp_path: Path) -> None:
    copy_with_prd(tmp_path / "project", ORDER_LEDGER)
    readme = (tmp_path / "project" / "README.md").read_text()
    log = readme.split("## Why the generator chose what it did", 1)[1]
    for line in (
        "- **node_type: effect**: description mentions reads, stores",
        "- **integration: postgres**: domain 'database'; dependencies 'postgres'",
        "- **integration: kafka**: features 'event_driven'; features 'event'",
        "- **integration: redis**: features 'caching'; dependencies 'redis'",
    ):
        assert line in log


def test_command_line_data_overrides_the_file(tmp_path: Path) -> None:
    recorded = copy_with_prd(
        tmp_path / "project",
        ORDER_LEDGER,
        "service_name=order_history",
        "node_type=reducer",
        "operations=[tally_orders]",
        "domain=general",
        "features=[]",
        "dependencies={}",
    )
    assert recorded["service_name"] == "order_history"
    assert recorded["node_type"] == "reducer"
    assert recorded["operations"] == ["tally_orders"]
    # derived from the overridden answers, not from the file's
    assert recorded["integrations"] == []
    # the rest still comes from the file
    assert recorded["business_description"] == prd(ORDER_LEDGER)["business_description"]
    assert (
        tmp_path / "project" / "src" / "order_history" / "nodes" / "node_order_history_reducer"
    ).is_dir()
