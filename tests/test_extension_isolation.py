"""Each template version renders with its own extension code, even in one Copier process.

`copier update` renders the project's old template version and then the new one in one Python
process. extensions/onex_jinja.py loads node_spec.py by path; while it kept the module under a
fixed name, the second version found the first one's node_spec and validated its questions
with the old functions (an update from 48499a6 stopped at "http_port must be a whole number"
for the string "8080"). These tests render two versions in this process, in both orders that
matter, and check that each used its own code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import copier
import pytest
import yaml
from update_helpers import copy_working_tree, export_commit

# The commit the issue reproduced the failure with: its onex_jinja.py still has the fixed-name
# loader, and its http_port question is an int (the working tree's is a str).
FIXED_NAME_COMMIT = "48499a6"
FIXED_NAME = "onex_template_node_spec"

# Appended to node_spec.py of a second version: its port check refuses every answer.
REFUSING_PORT_CHECK = '''

def port_error(value: object) -> str:
    """This version's own check (tests/test_extension_isolation.py)."""
    return f"version B refuses port {value}"
'''


# Version B's copier_answers.py marks the one-line errors its wrappers raise.
ONE_LINE_ERROR = "raise AnswerError(str(error)) from error"
ONE_LINE_ERROR_B = 'raise AnswerError("version B: " + str(error)) from error'


@pytest.fixture(autouse=True)
def forget_loaded_extensions() -> Iterator[None]:
    """Drop the extension modules these renders load, so no other test meets them."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("onex_template_", "copier_template_extensions.")):
            del sys.modules[name]


def node_specs_from(template: Path) -> list[ModuleType]:
    """The node_spec modules loaded from `template`'s extensions/ (one per distinct source)."""
    return [
        module
        for name, module in list(sys.modules.items())
        if name.startswith(f"{FIXED_NAME}_")
        and Path(getattr(module, "__file__", None) or "").is_relative_to(template)
    ]


def render(template: Path, dst: Path) -> dict[str, object]:
    """A default project of `template` (no git: Copier reads the directory as it is)."""
    copier.run_copy(
        str(template),
        str(dst),
        data={"run_checks": False},
        defaults=True,
        unsafe=True,
        quiet=True,
    )
    answers: dict[str, object] = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    return answers


def test_two_versions_in_one_process_each_validate_with_their_own_code(tmp_path: Path) -> None:
    version_a, version_b = tmp_path / "a", tmp_path / "b"
    copy_working_tree(version_a)
    copy_working_tree(version_b)
    node_spec_b = version_b / "extensions" / "node_spec.py"
    node_spec_b.write_text(node_spec_b.read_text() + REFUSING_PORT_CHECK)

    assert render(version_a, tmp_path / "first")["http_port"] == "8080"
    with pytest.raises(ValueError, match="version B refuses port 8080"):
        render(version_b, tmp_path / "second")
    assert not (tmp_path / "second").exists()
    # And back: version A's code was not replaced by B's either.
    assert render(version_a, tmp_path / "third")["http_port"] == "8080"
    assert [module.port_error(8080) for module in node_specs_from(version_b)] == [
        "version B refuses port 8080"
    ]


def test_an_old_fixed_name_version_first_then_the_working_tree(tmp_path: Path) -> None:
    """The order of a real update from an old commit: its buggy loader runs first."""
    old = export_commit(FIXED_NAME_COMMIT, tmp_path / "old")
    assert f'name = "{FIXED_NAME}"' in (old / "extensions" / "onex_jinja.py").read_text()
    new = tmp_path / "new"
    copy_working_tree(new)

    assert render(old, tmp_path / "at-old")["http_port"] == 8080  # an int question then
    assert FIXED_NAME in sys.modules
    # The working tree's str question, checked by the working tree's validator.
    assert render(new, tmp_path / "at-new")["http_port"] == "8080"
    assert Path(sys.modules[FIXED_NAME].__file__ or "").is_relative_to(old)


def test_the_last_loaded_version_s_copier_workarounds_apply(tmp_path: Path) -> None:
    """extensions/copier_answers.py patches Copier's Question class, once for the process: the
    version loaded last (the new one, in an update) must be the one whose wrappers run."""
    version_a, version_b = tmp_path / "a", tmp_path / "b"
    copy_working_tree(version_a)
    copy_working_tree(version_b)
    answers_b = version_b / "extensions" / "copier_answers.py"
    source = answers_b.read_text()
    assert source.count(ONE_LINE_ERROR) == 1
    answers_b.write_text(source.replace(ONE_LINE_ERROR, ONE_LINE_ERROR_B))

    def refusal(template: Path, dst: Path) -> str:
        with pytest.raises(ValueError, match="http_port must be a whole number") as refused:
            copier.run_copy(
                str(template),
                str(dst),
                data={"http_port": "abc"},
                defaults=True,
                unsafe=True,
                quiet=True,
            )
        return str(refused.value)

    assert not refusal(version_a, tmp_path / "first").startswith("version B")
    assert refusal(version_b, tmp_path / "second").startswith("version B: ")
    assert not refusal(version_a, tmp_path / "third").startswith("version B")
