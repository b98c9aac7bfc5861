"""Unit tests of extensions/python_imports.py: exploded imports collapsed where they fit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE_ROOT
from jinja2 import DictLoader, Environment
from python_imports import LINE_LENGTH, PythonImportsExtension, collapse_imports


def exploded(module: str, *names: str, indent: str = "") -> str:
    body = "".join(f"{indent}    {name},\n" for name in names)
    return f"{indent}from {module} import (\n{body}{indent})\n"


def test_one_name_that_fits_goes_on_one_line() -> None:
    source = exploded("pkg.runtime.node_logging", "NodeLogger")

    assert collapse_imports(source) == "from pkg.runtime.node_logging import NodeLogger\n"


def test_several_names_keep_their_order() -> None:
    source = exploded("pkg.settings", "ENV_PREFIX", "ModelNodeSettings")

    assert collapse_imports(source) == "from pkg.settings import ENV_PREFIX, ModelNodeSettings\n"


def test_the_line_length_is_the_limit_inclusive() -> None:
    prefix = "from m import "
    fits = exploded("m", "N" * (LINE_LENGTH - len(prefix)))
    too_long = exploded("m", "N" * (LINE_LENGTH - len(prefix) + 1))

    assert len(collapse_imports(fits).rstrip("\n")) == LINE_LENGTH
    assert collapse_imports(too_long) == too_long


def test_indented_imports_count_their_indentation() -> None:
    source = "def f() -> None:\n" + exploded("pkg.a", "B", indent="    ") + "    B()\n"

    assert collapse_imports(source) == "def f() -> None:\n    from pkg.a import B\n    B()\n"
    assert collapse_imports(source, line_length=len("    from pkg.a import B") - 1) == source


@pytest.mark.parametrize(
    "source",
    [
        "from pkg.a import (\n    B as C,\n)\n",  # aliases stay as isort writes them
        "from pkg.a import (\n    B,  # why B\n)\n",  # a comment would be lost
        "values = (\n    first,\n)\n",  # not an import
        "from pkg.a import (\n    B,\n        C,\n)\n",  # not one name per line
    ],
)
def test_anything_else_is_left_as_written(source: str) -> None:
    assert collapse_imports(source) == source


def test_collapsed_and_kept_forms_are_both_what_ruff_isort_accepts(tmp_path: Path) -> None:
    long_name = "N" * LINE_LENGTH
    source = (
        "import os\n\n"
        + exploded("pkg.runtime.node_logging", "NodeLogger")
        + exploded("pkg.settings", "ENV_PREFIX", "ModelNodeSettings")
        + exploded("pkg.zz", long_name)
        + "\nprint(os, NodeLogger, ENV_PREFIX, ModelNodeSettings, "
        + long_name
        + ")\n"
    )
    module = tmp_path / "module.py"
    module.write_text(collapse_imports(source))

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "I",
            f"--line-length={LINE_LENGTH}",
            str(module),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout
    assert module.read_text().count("import (") == 1  # only the one that cannot fit


def test_line_length_matches_the_generated_projects_ruff_setting() -> None:
    pyproject = (TEMPLATE_ROOT / "template" / "pyproject.toml.jinja").read_text()
    match = re.search(r"^line-length = (\d+)$", pyproject, re.MULTILINE)

    assert match is not None
    assert int(match[1]) == LINE_LENGTH


def render(name: str, source: str) -> str:
    environment = Environment(
        loader=DictLoader({name: source}),
        extensions=[PythonImportsExtension],
        keep_trailing_newline=True,
    )
    return environment.get_template(name).render(package="pkg")


@pytest.mark.parametrize(
    "name",
    [
        "src/pkg/handler.py.jinja",
        "tests/{% if 'redis' in integrations %}test_redis.py{% endif %}.jinja",
    ],
)
def test_templates_of_python_files_are_collapsed_after_rendering(name: str) -> None:
    source = "{% set module = package ~ '.a' %}" + exploded("{{ module }}", "B")

    assert render(name, source) == "from pkg.a import B\n"


@pytest.mark.parametrize("name", ["README.md.jinja", "{{ _copier_conf.answers_file }}.jinja"])
def test_other_templates_render_as_written(name: str) -> None:
    source = exploded("{{ package }}.a", "B")

    assert render(name, source) == exploded("pkg.a", "B")
