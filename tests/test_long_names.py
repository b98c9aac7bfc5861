"""The longest service name the questionnaire accepts (40 characters) renders formatted code.

Class, model and enum names grow with the service name, so a line the template writes on one
row for a short name can pass ruff's 100 columns for a long one. Every node type, in each of
its variants (with the integration a variant needs), is rendered with a 40-character name and
must pass `ruff check` and `ruff format --check` as rendered (the generated project's own ruff
settings). The all-integrations effect with the longest name is also in the integration
sample (test_integration_all.py), where every check runs.
"""

from __future__ import annotations

from pathlib import Path

import copier
import pytest
import variants
from conftest import TEMPLATE_ROOT
from test_free_text import assert_ruff_passes

LONGEST_NAME = "a_forty_character_node_name_for_checking"
CASES = [
    (node_type, variant)
    for node_type in ("effect", "compute", "reducer", "orchestrator")
    for variant in variants.variants_for(node_type)
]


def test_the_longest_name_is_forty_characters() -> None:
    assert len(LONGEST_NAME) == 40


@pytest.mark.parametrize(("node_type", "variant"), CASES, ids=[f"{t}-{v}" for t, v in CASES])
def test_the_longest_service_name_renders_formatted_code(
    tmp_path: Path, node_type: str, variant: str
) -> None:
    integration = variants.VARIANTS[variant].integration
    copier.run_copy(
        str(TEMPLATE_ROOT),
        str(tmp_path),
        data={
            "run_checks": False,
            "service_name": LONGEST_NAME,
            "node_type": node_type,
            "variant": variant,
            **({"integrations": [integration]} if integration else {}),
        },
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",  # this checkout as it is, not its latest release tag
    )
    assert_ruff_passes(tmp_path)
