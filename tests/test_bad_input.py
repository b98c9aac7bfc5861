"""Every bad answer is refused with a message that names it, and nothing is written.

Through Copier's API (what pytest-copie and scripts use) and through the copier CLI (what a
user types). Copier validates every answer before it renders a file, so the destination
must not exist afterwards, and a destination folder that already existed stays empty.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from conftest import TEMPLATE_ROOT

DATA = Path(__file__).parent / "data"

BAD_ANSWERS: list[tuple[dict[str, Any], str]] = [
    (
        {"service_name": "Order-Service"},
        "Validation error for question 'service_name': service_name 'Order-Service' is not a "
        "snake_case identifier",
    ),
    ({"service_name": "9lives"}, "service_name '9lives' is not a snake_case identifier"),
    ({"service_name": "class"}, "service_name 'class' is a Python keyword"),
    (
        {"service_name": "json"},
        "service_name 'json' collides with the Python standard library module 'json'",
    ),
    (
        {"service_name": "omnibase_core"},
        "service_name 'omnibase_core' collides with a package the node depends on",
    ),
    (
        {"service_name": "orders", "package_name": "asyncpg"},
        "Validation error for question 'package_name': package_name 'asyncpg' collides",
    ),
    ({"business_description": "  "}, "business_description must not be empty"),
    (
        {"operations": []},
        "Validation error for question 'operations': operations must be a non-empty list",
    ),
    ({"operations": ["run"]}, "operation 'run' is a function name omnibase_core's validator bans"),
    ({"operations": ["get_order", "get_order"]}, "operation 'get_order' is listed twice"),
    ({"operations": ["get-order"]}, "operation 'get-order' is not a snake_case identifier"),
    ({"node_type": "sink"}, "Invalid choice for 'node_type': 'sink' is not in"),
    ({"integrations": ["mongo"]}, "Invalid choice for 'integrations': 'mongo' is not in"),
    (
        {"http_port": 80},
        "Validation error for question 'http_port': http_port must be a whole number from 1024 "
        "to 65535; got '80'",
    ),
    ({"http_port": 70000}, "http_port must be a whole number from 1024 to 65535; got '70000'"),
    ({"http_port": "abc"}, "http_port must be a whole number from 1024 to 65535; got 'abc'"),
    ({"features": "caching"}, "features must be a list of non-empty strings; got 'caching'"),
    ({"dependencies": ["postgres"]}, "dependencies must be a mapping of name to version"),
    # Valid one by one, but together they name one topic twice: refused while rendering.
    (
        {"service_name": "orders", "operations": ["orders"]},
        "operation names give the same topic twice (onex.evt.orders.orders-completed.v1)",
    ),
]


def copy(destination: Path, data: dict[str, Any]) -> None:
    copier.run_copy(
        str(TEMPLATE_ROOT),
        str(destination),
        data={"run_checks": False, **data},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",  # this checkout as it is, not its latest release tag
    )


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS)
def test_bad_answer_is_refused_and_nothing_written(
    tmp_path: Path, answers: dict[str, Any], message: str
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=re.escape(message)):
        copy(destination, answers)
    assert not destination.exists()


def test_existing_destination_stays_empty(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'json' collides"):
        copy(tmp_path, {"service_name": "json"})
    assert list(tmp_path.iterdir()) == []


def test_good_answers_do_generate(tmp_path: Path) -> None:
    """The control: the same call with valid answers writes the project."""
    destination = tmp_path / "project"
    copy(destination, {"service_name": "orders", "operations": ["get_order", "list_orders"]})
    assert (
        destination / "src" / "orders" / "nodes" / "node_orders_effect" / "handler.py"
    ).is_file()


def test_bad_prd_file_is_refused_through_the_api(tmp_path: Path) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match="service_name 'Invoice-Sync' is not a snake_case"):
        copy(destination, yaml.safe_load((DATA / "prd_bad.yaml").read_text()))
    assert not destination.exists()


def copier_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # --vcs-ref=HEAD: this checkout as it is (uncommitted changes too), not its latest tag.
        [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-d", "service_name=9lives"],
            "Validation error for question 'service_name': service_name '9lives' is not a "
            "snake_case identifier",
        ),
        (
            ["-d", "http_port=abc"],
            "Validation error for question 'http_port': http_port must be a whole number from "
            "1024 to 65535; got 'abc'",
        ),
        (
            ["--data-file", str(DATA / "prd_bad.yaml")],
            "service_name 'Invoice-Sync' is not a snake_case identifier",
        ),
        (
            ["--data-file", str(DATA / "prd_bad.yaml"), "-d", "service_name=invoice_sync"],
            "operation 'run' is a function name omnibase_core's validator bans",
        ),
    ],
)
def test_cli_refuses_bad_answers(tmp_path: Path, args: list[str], message: str) -> None:
    destination = tmp_path / "project"
    completed = copier_cli(*args, str(TEMPLATE_ROOT), str(destination))
    assert completed.returncode != 0
    # Copier prints its traceback first; the message is the last line of stderr.
    assert message in completed.stderr.strip().splitlines()[-1]
    assert not destination.exists()
