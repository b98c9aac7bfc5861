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


CHECKOUT_SAGA = DATA / "prd_checkout_saga.yaml"


def test_prd_workflow_defaults_operations_and_fills_the_contract(tmp_path: Path) -> None:
    recorded = copy_with_prd(tmp_path / "project", CHECKOUT_SAGA)
    assert recorded["workflow"] == prd(CHECKOUT_SAGA)["workflow"]
    # Steps in dependency order, then the compensations that are not steps.
    assert recorded["operations"] == [
        *("reserve_stock", "charge_payment", "ship_order", "release_stock", "refund_payment"),
    ]
    node_dir = tmp_path / "project" / "src" / "checkout_saga" / "nodes"
    contract = yaml.safe_load(
        (node_dir / "node_checkout_saga_orchestrator" / "contract.yaml").read_text()
    )
    coordination = contract["workflow_coordination"]["workflow_definition"]
    nodes = coordination["execution_graph"]["nodes"]
    assert [(n["node_id"], n["depends_on"]) for n in nodes] == [
        ("reserve_stock", []),
        ("charge_payment", []),
        ("ship_order", ["reserve_stock", "charge_payment"]),
    ]
    assert nodes[0]["step_config"]["compensate"] == "release_stock"
    assert coordination["coordination_rules"]["max_retries"] == 2
    assert coordination["coordination_rules"]["timeout_ms"] == 60000


def test_prd_workflow_with_a_cycle_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "prd.yaml"
    answers = prd(CHECKOUT_SAGA)
    answers["workflow"]["steps"][0]["depends_on"] = ["ship_order"]
    bad.write_text(yaml.safe_dump(answers))
    destination = tmp_path / "project"
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD"),
            *(
                "--data-file",
                str(bad),
                "-d",
                "run_checks=false",
                str(TEMPLATE_ROOT),
                str(destination),
            ),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert (
        "workflow steps form a cycle: reserve_stock -> ship_order -> reserve_stock"
        in completed.stderr
    )
    assert "Traceback" not in completed.stderr
    assert not destination.exists()


ORDER_LIFECYCLE = DATA / "prd_order_lifecycle.yaml"


def test_prd_state_machine_gives_the_operations_and_the_contract_section(tmp_path: Path) -> None:
    recorded = copy_with_prd(tmp_path / "project", ORDER_LIFECYCLE)
    assert recorded["state_machine"] == prd(ORDER_LIFECYCLE)["state_machine"]
    # operations default to the triggers, each once, in the order the transitions name them
    assert recorded["operations"] == ["submit", "approve", "reject", "ship"]
    node_dir = tmp_path / "project" / "src" / "order_lifecycle" / "nodes"
    contract = yaml.safe_load(
        (node_dir / "node_order_lifecycle_reducer" / "contract.yaml").read_text()
    )
    section = contract["state_machine"]
    assert section["initial_state"] == "draft"
    assert [s["state_name"] for s in section["states"]] == [
        "draft", "in_review", "approved", "rejected", "shipped"
    ]  # fmt: skip
    assert section["states"][1]["description"] == "Waiting for a reviewer."
    assert [(t["from_state"], t["trigger"], t["to_state"]) for t in section["transitions"]] == [
        ("draft", "submit", "in_review"),
        ("in_review", "approve", "approved"),
        ("in_review", "reject", "rejected"),
        ("rejected", "submit", "in_review"),
        ("approved", "ship", "shipped"),
    ]
    assert section["terminal_states"] == ["shipped"]
    assert [s["state_name"] for s in section["states"] if s["is_terminal"]] == ["shipped"]
    readme = (tmp_path / "project" / "README.md").read_text()
    assert (
        "- **state_machine: order_lifecycle_state_machine: 5 states, 5 transitions**: "
        "the state_machine answer" in readme
    )


def test_prd_feature_alone_gives_the_default_lifecycle(tmp_path: Path) -> None:
    recorded = copy_with_prd(tmp_path / "project", ORDER_LIFECYCLE, "state_machine={}")
    assert recorded["operations"] == ["activate", "suspend", "resume", "complete", "cancel"]
    contract = (
        tmp_path / "project" / "src" / "order_lifecycle" / "nodes" / "node_order_lifecycle_reducer"
    ) / "contract.yaml"
    section = yaml.safe_load(contract.read_text())["state_machine"]
    assert section["initial_state"] == "pending"
    assert section["terminal_states"] == ["completed", "cancelled"]
