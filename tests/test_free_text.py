"""Any free-text answer is either refused by name or gives a project whose files all parse.

The free-text answers are business_description, domain, and the names and versions of
dependencies (features are names from a catalogue, left at their default here). Hypothesis feeds them arbitrary text (every kind of quote,
backslashes, newlines, tabs, control characters, Jinja delimiters, emoji, right-to-left marks,
lone surrogates, very long text) through Copier's own API, in-process, and asserts:

- Copier refuses exactly when one of the questions' validators says so, with the message
  `Validation error for question '<question>': ...` (at most 80 columns after the prefix),
  and writes nothing; or
- Copier succeeds, and then pyproject.toml parses (tomllib and tomlkit), every .py file
  compiles with no SyntaxWarning, every YAML file loads, the description reads back from
  pyproject.toml, contract.yaml, the three docstrings and README.md as the text given
  (normalised as extensions/free_text.py documents: whitespace runs become one space; the
  docstrings may break lines between words), Copier's answers file records every answer
  exactly, and `ruff check` and `ruff format --check` pass on the whole project.

CI runs a fixed, reproducible sample (derandomized, no example database). For a deeper run:
`FREE_TEXT_EXAMPLES=500 pytest tests/test_free_text.py` (random, so each run explores anew).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import copier
import free_text
import node_spec
import pytest
import tomlkit
import yaml
from conftest import TEMPLATE_ROOT
from free_text import normalize
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from test_free_text_filters import NASTY

EXAMPLES = int(os.environ.get("FREE_TEXT_EXAMPLES", "0"))
PROPERTY = settings(
    max_examples=EXAMPLES or 20,
    derandomize=not EXAMPLES,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text the validators accept: the pieces known to break formats, arbitrary characters other
# than control characters (tab, newline and carriage return aside) and lone surrogates, format characters
# (right-to-left marks, zero-width joiners...), Unicode spaces and line separators, symbols.
_ACCEPTED_PIECES = st.one_of(
    st.sampled_from([p for p in NASTY if not free_text.text_error(p, "domain", allow_empty=True)]),
    st.text(
        st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from("\t\n\r"),
        min_size=1,
        max_size=6,
    ),
    st.characters(categories=["Cf", "Zs", "Zl", "Zp", "So"]),
)
ACCEPTED = st.lists(_ACCEPTED_PIECES, min_size=1, max_size=8).map("".join).filter(str.strip)
# Anything at all, including what the validators refuse (NUL, ESC, lone surrogates...).
ANY = st.lists(
    st.one_of(_ACCEPTED_PIECES, st.characters(categories=["Cc", "Cs"])), min_size=1, max_size=8
).map("".join)
# Long text around business_description's limit (2000 characters), mostly under it.
LONG = st.builds(lambda piece, n: ((piece + " ") * n)[:n], ACCEPTED, st.integers(1500, 2100))
# Mostly text that renders (the files are what is under test), some that must be refused.
DESCRIPTION = st.one_of(
    ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED, LONG, ANY, st.sampled_from(["", " ", "\n\t"])
)
DOMAIN = st.one_of(st.just("general"), ACCEPTED, ACCEPTED, ANY)
# Without NEL (U+0085): Copier's answers file reads it back as a line break, and the
# dependencies validator (node_spec.dependencies_error) does not refuse it yet.
_DEPENDENCY_TEXT = st.one_of(ACCEPTED, ANY).filter(lambda text: "\x85" not in text)
DEPENDENCIES = st.one_of(
    st.just({}), st.dictionaries(_DEPENDENCY_TEXT, _DEPENDENCY_TEXT, min_size=1, max_size=2)
)

# The free-text questions in copier.yml's order (Copier validates in that order), with the
# check each one's validator applies.
CHECKS: dict[str, Any] = {
    "business_description": lambda v: free_text.text_error(v, "business_description"),
    "domain": lambda v: free_text.text_error(v, "domain", allow_empty=True),
    "dependencies": node_spec.dependencies_error,
}
SERVICE = "free_text"
NODE = "node_free_text_effect"
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
COMPILE_WARNINGS = (SyntaxWarning, DeprecationWarning)


def render(destination: Path, answers: dict[str, Any]) -> None:
    copier.run_copy(
        str(TEMPLATE_ROOT),
        str(destination),
        data={"run_checks": False, "service_name": SERVICE, "node_type": "effect", **answers},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",  # this checkout as it is, not its latest release tag
    )


def expected_refusal(answers: dict[str, Any]) -> str:
    """The message Copier must stop with, or "" when every answer is valid."""
    for question, check in CHECKS.items():
        if message := check(answers[question]):
            return f"Validation error for question '{question}': {message}"
    return ""


@PROPERTY
@given(description=DESCRIPTION, domain=DOMAIN, dependencies=DEPENDENCIES)
@example(
    description='Line\nwith "quotes", \'\'\'triple\'\'\' """triple""", C:\\new\\table, \\N{X}',
    domain="order database",
    dependencies={},
)
@example(
    description="{{ 7 * 7 }} {% if x %} {# c #} \u200fRTL\u202e \U0001f44d \u2013 \u2018q\u2019",
    domain="{{ domain }}",
    dependencies={"{{ name }}": "{% raw %}", 'quo"te': "\\"},
)
@example(description="a\x00b", domain="general", dependencies={})
@example(description="ok", domain="\ud800", dependencies={})
@example(description="ok", domain="general", dependencies={"\ud800": "1"})
@example(description="ok", domain="general", dependencies={"a\x00": "b", "\x07": "\x1b"})
@example(description="x " * 999, domain="general", dependencies={})
def test_free_text_is_refused_by_name_or_renders_valid_files(
    tmp_path_factory: pytest.TempPathFactory,
    description: str,
    domain: str,
    dependencies: dict[str, str],
) -> None:
    answers = {"business_description": description, "domain": domain, "dependencies": dependencies}
    destination = tmp_path_factory.mktemp("free_text") / "project"
    refusal = expected_refusal(answers)
    # Hypothesis's statistics (--hypothesis-show-statistics) count the outcomes.
    event("refused by " + refusal.split("'")[1] if refusal else "rendered")
    if refusal:
        with pytest.raises(ValueError, match="Validation error for question") as raised:
            render(destination, answers)
        assert str(raised.value) == refusal
        assert len(refusal.split(": ", 1)[1]) <= 80
        assert not destination.exists()
        return
    render(destination, answers)
    assert_every_file_parses(destination)
    assert_description_reads_back(destination, description)
    assert_answers_recorded(destination, answers)
    assert_ruff_passes(destination)


def assert_every_file_parses(project: Path) -> None:
    files = [p for p in project.rglob("*") if p.is_file()]
    counts = {".py": 0, ".yaml": 0, ".toml": 0}
    for path in files:
        if path.suffix == ".py":
            source = path.read_text(encoding="utf-8")
            with warnings.catch_warnings():
                warnings.simplefilter("error", COMPILE_WARNINGS)
                compile(source, str(path), "exec", dont_inherit=True)
        elif path.suffix in (".yaml", ".yml"):
            yaml.safe_load(path.read_text(encoding="utf-8"))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        else:
            continue
        counts[".yaml" if path.suffix == ".yml" else path.suffix] += 1
    # The project really has files of each kind (the checks above ran on something).
    assert counts[".py"] >= 30, counts
    assert counts[".yaml"] >= 2, counts
    assert counts[".toml"] >= 1, counts


def assert_description_reads_back(project: Path, description: str) -> None:
    text = normalize(description)
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert tomllib.loads(pyproject)["project"]["description"] == text
    assert tomlkit.parse(pyproject)["project"]["description"] == text

    package = project / "src" / SERVICE
    contract = yaml.safe_load((package / "nodes" / NODE / "contract.yaml").read_text("utf-8"))
    assert contract["description"] == text

    # Docstrings: the description may be wrapped (newlines between words), nothing else.
    module_doc = docstring(package / "__init__.py").split("\n\n")[0]
    assert module_doc.replace("\n", " ") == f"{SERVICE}: {text}"
    node_doc = docstring(package / "nodes" / NODE / "__init__.py")
    assert node_doc.replace("\n", " ") == f"NodeFreeTextEffect: {text}"
    handler_doc = docstring(package / "nodes" / NODE / "handler.py").split("\n\n")[1]
    assert handler_doc.replace("\n", " ") == text

    readme = (project / "README.md").read_text(encoding="utf-8")
    lines = readme.split("\n")
    assert lines[0] == f"# {SERVICE}"
    assert rendered_paragraph(lines[2]) == text
    # No answer turns into HTML anywhere in the README (the decision log quotes the domain).
    html = [t for t in MARKDOWN.parse(readme) if t.type == "html_block"]
    inline = [c for t in MARKDOWN.parse(readme) for c in t.children or [] if "html" in c.type]
    assert not html
    assert not inline, inline


def docstring(path: Path) -> str:
    value = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
    assert value is not None, path
    return value


def rendered_paragraph(markdown: str) -> str:
    """The text of one Markdown paragraph, failing if any markup in it was recognised."""
    tokens = MARKDOWN.parse(markdown)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], tokens
    children = tokens[1].children or []
    assert all(child.type == "text" for child in children), children
    return "".join(child.content for child in children)


def assert_answers_recorded(project: Path, answers: dict[str, Any]) -> None:
    """`copier update` starts from the answers file: it must hold every answer exactly."""
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert {key: recorded[key] for key in answers} == answers


def assert_ruff_passes(project: Path) -> None:
    for command in (["check"], ["format", "--check"]):
        completed = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


def test_cli_refuses_text_that_is_not_utf8(tmp_path: Path) -> None:
    """The one way a terminal passes a lone surrogate: bytes that are not UTF-8 (Python
    decodes them as U+DC80..U+DCFF). Copier takes it; the validator refuses it by name."""
    destination = tmp_path / "project"
    # Latin-1 "café": the byte 0xE9 alone is not UTF-8.
    answer = b"business_description=caf\xe9 orders"
    copier_cli = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD"]
    completed = subprocess.run(
        [
            *copier_cli,
            "-d",
            "run_checks=false",
            b"-d",
            answer,
            str(TEMPLATE_ROOT),
            str(destination),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    last = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-1]
    assert re.search(
        "Validation error for question 'business_description': business_description "
        "contains U[+]DCE9, a lone surrogate; remove it",
        last,
    ), last
    assert not destination.exists()
