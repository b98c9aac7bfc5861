"""Answers recorded by any earlier version keep working.

A project's .copier-answers.yml holds the answers as the version that generated it typed them;
`copier update` feeds them to today's questions. So every change to a question since the first
commit that generated a working node (23f5b01) is listed below with how old answers are
handled: accepted as they are (with old answers that must still pass today's questionnaire),
or converted by a `_migrations` entry. The list is compared with the real git history of
copier.yml (and the working tree's copier.yml), so changing a question's type, choices,
multiselect, validator or `when`, or adding or removing one, fails this test until the change
is listed here.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from conftest import TEMPLATE_ROOT
from update_helpers import require_commits

EARLIEST_WORKING = "23f5b01"
# What a question is, as far as recorded answers are concerned. `help` (wording) and `default`
# (what new projects record) do not change what an old answer means.
ATTRIBUTES = ("type", "choices", "multiselect", "validator", "when")


@dataclass(frozen=True)
class Accepted:
    """Old answers work as they are: `why`, and answers old versions recorded to prove it."""

    why: str
    old_answers: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Migrated:
    """A `before` `_migrations` entry whose command contains `command_text` converts them
    (versioned, or idempotent and run on every update)."""

    why: str
    command_text: str


# The features' choices as d3dd100 made them: the catalogue, then the seeds' refused words.
FEATURE_CATALOGUE = (
    *("event_driven", "caching", "persistence", "http_client", "api_client"),
    *("service_discovery", "custom_mixins", "no_service_mode", "fail_fast", "strict_validation"),
    *("retry", "resilience", "circuit_breaker", "fault_tolerance", "cli", "command_line"),
    *("state_machine", "canonical_yaml", "stamping", "hybrid_execution", "workflow", "strict"),
    *("database", "kafka", "redis", "discovery"),
)

# ... and as issue 11 item 4 left them: retry and circuit_breaker accepted.
RESILIENCE_CATALOGUE = (
    *FEATURE_CATALOGUE[:10],
    *("retry", "circuit_breaker", "resilience", "fault_tolerance"),
    *FEATURE_CATALOGUE[14:],
)
# ... and since the state machine (issue 11 item 2): state_machine accepted, after them.
FEATURE_CATALOGUE_WITH_STATE_MACHINE = (
    *RESILIENCE_CATALOGUE[:12],
    "state_machine",
    *(word for word in RESILIENCE_CATALOGUE[12:] if word != "state_machine"),
)
# ... and since the mixin catalogue (issue 11 item 6): redaction added after state_machine.
FEATURE_CATALOGUE_WITH_REDACTION = (
    *FEATURE_CATALOGUE_WITH_STATE_MACHINE[:13],
    "redaction",
    *FEATURE_CATALOGUE_WITH_STATE_MACHINE[13:],
)

NOT_BLANK = (
    "{% if not business_description.strip() %}business_description must not be empty{% endif %}"
)
TEXT_CHECK = "{{ business_description | onex_text_check('business_description') }}"
DOMAIN_TEXT_CHECK = "{{ domain | onex_text_check('domain', allow_empty=true) }}"
OLD_OPERATIONS_CHECK = "{{ operations | onex_check('operations') }}"
OPERATIONS_CHECK = (
    "{{ operations | onex_check('operations') or operations "
    "| onex_check_workflow_operations(workflow) }}"
)

# (question, what changed, before, after) -> how answers recorded before the change are handled.
# In the order of copier.yml's history. `what` is an attribute of ATTRIBUTES, "added" or
# "removed" (before/after are then None).
QUESTION_CHANGES: dict[tuple[str, str, Any, Any], Accepted | Migrated] = {
    ("run_checks_on_update", "added", None, None): Accepted(
        "never asked and never recorded (when: false): an update uses its default, false"
    ),
    ("http_port", "type", "int", "str"): Accepted(
        "Copier casts the recorded int with str(); the port check takes the digits",
        old_answers=(8080, 1024, 65535),
    ),
    # The feature catalogue (d3dd100): a free YAML list became a multiselect of it.
    ("features", "type", "yaml", "str"): Accepted(
        "a recorded YAML list of words is a list of str, which a multiselect takes as it is",
        old_answers=(["custom_mixins", "fail_fast"], ["caching"], []),
    ),
    ("features", "choices", None, FEATURE_CATALOGUE): Migrated(
        "words older versions took and the catalogue refuses are dropped from the answers "
        "(each printed); the node stays as it was",
        command_text="migrations/migrate_features.py",
    ),
    ("features", "multiselect", None, True): Accepted(
        "as for its type: a recorded list is a multiselect answer",
        old_answers=(["event_driven", "persistence"],),
    ),
    # Free text (e3c8b0b): business_description and domain checked by extensions/free_text.py.
    ("business_description", "validator", NOT_BLANK, TEXT_CHECK): Accepted(
        "non-blank text still passes unless it holds control characters other than tab, "
        "newline and CR, lone surrogates or over 2000 characters: text earlier versions "
        "rendered into files that did not parse",
        old_answers=(
            "Creates records and reads them back on request.",
            'Sums "daily" sales\nper store \\ region, in \u20ac',
        ),
    ),
    ("domain", "validator", None, DOMAIN_TEXT_CHECK): Accepted(
        "any text up to 200 characters, empty too, as before, bar control characters",
        old_answers=("general", "order database", ""),
    ),
    # Shipping (issue 10): the licence question, and the lock task's switch.
    ("license", "added", None, None): Accepted(
        "projects generated before it record no licence: an update takes the default, MIT, "
        "and writes LICENSE (add -d license=... to the update to choose another)"
    ),
    ("lock_dependencies", "added", None, None): Accepted(
        "never asked and never recorded (when: false); it only acts on copy"
    ),
    # retry and circuit_breaker join the catalogue (issue 11 item 4): the choices gain no
    # word and lose none; only those two move from refused (disabled) to accepted.
    ("features", "choices", FEATURE_CATALOGUE, RESILIENCE_CATALOGUE): Accepted(
        "the same words: an answer recorded before holds none of the two (the migration "
        "dropped them), so it passes as it is"
    ),
    # Orchestrator workflow graphs (issue 11 item 3): a new question, asked of orchestrators.
    ("workflow", "added", None, None): Accepted(
        "older projects recorded no workflow: its default, {}, is the operations in order"
    ),
    ("operations", "validator", OLD_OPERATIONS_CHECK, OPERATIONS_CHECK): Accepted(
        "without a workflow answer the added check passes: operations are checked as before",
        old_answers=(["create_record", "get_record"], ["fulfil_request"]),
    ),
    # Reducer state machines (issue 11 item 2): asked for reducers only, default {} (none).
    ("state_machine", "added", None, None): Accepted(
        "answers recorded before it have none: an update asks it (or takes its default, {}), "
        "so the node keeps no state machine, as before"
    ),
    # ... and its feature unlocked: state_machine moves from the refused words to the catalogue.
    ("features", "choices", RESILIENCE_CATALOGUE, FEATURE_CATALOGUE_WITH_STATE_MACHINE): Accepted(
        "the same words; state_machine, refused before, was never recorded",
        old_answers=(["caching"],),
    ),
    # The mixin catalogue (issue 11 item 6): a new accepted word, redaction.
    (
        "features",
        "choices",
        FEATURE_CATALOGUE_WITH_STATE_MACHINE,
        FEATURE_CATALOGUE_WITH_REDACTION,
    ): (
        Accepted(
            "a word added, none removed: every answer recorded before is still a valid choice",
            old_answers=(["caching", "custom_mixins", "fail_fast"],),
        )
    ),
    # Template variants (issue 11 item 5): a new question, asked of every node type.
    ("variant", "added", None, None): Accepted(
        "answers recorded before it have none: its default passes over every variant whose "
        "example operations the recorded operations lack, so the project keeps its examples"
    ),
    # Further question changes go here, in history order.
}


def copier_yml(commit: str | None) -> dict[str, Any]:
    """copier.yml at `commit`, or in the working tree for None."""
    if commit is None:
        text = (TEMPLATE_ROOT / "copier.yml").read_text()
    else:
        text = subprocess.run(
            ["git", "show", f"{commit}:copier.yml"],
            cwd=TEMPLATE_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    config: dict[str, Any] = yaml.safe_load(text)
    return config


def questions(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {attribute: spec.get(attribute) for attribute in ATTRIBUTES}
        for name, spec in config.items()
        if not name.startswith("_")
    }


def changes_in_history() -> list[tuple[str, str, Any, Any]]:
    """Every question change from EARLIEST_WORKING through the working tree, in order."""
    require_commits(TEMPLATE_ROOT, [EARLIEST_WORKING])
    later = subprocess.run(
        # The first-parent line: a merged branch's changes count once, at its merge (its own
        # commits, next to the other branches', would read as changes made and undone).
        [
            *("git", "log", "--first-parent", "--reverse", "--format=%H"),
            *(f"{EARLIEST_WORKING}..HEAD", "--", "copier.yml"),
        ],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found: list[tuple[str, str, Any, Any]] = []
    before = questions(copier_yml(EARLIEST_WORKING))
    for version in [*later, None]:
        after = questions(copier_yml(version))
        for name in sorted(before.keys() - after.keys()):
            found.append((name, "removed", None, None))
        for name in after:
            if name not in before:
                found.append((name, "added", None, None))
                continue
            for attribute in ATTRIBUTES:
                old, new = before[name][attribute], after[name][attribute]
                if old != new:
                    found.append((name, attribute, _hashable(old), _hashable(new)))
        before = after
    return found


def _hashable(value: Any) -> Any:
    """`value` as a dict key; choices given as a mapping become the values an answer records."""
    if isinstance(value, dict):
        return tuple(v["value"] if isinstance(v, dict) else v for v in value.values())
    return tuple(value) if isinstance(value, list) else value


def test_every_question_change_since_the_first_working_node_is_listed() -> None:
    found = changes_in_history()
    unlisted = [change for change in found if change not in QUESTION_CHANGES]
    assert not unlisted, (
        "copier.yml changed these questions: list each in QUESTION_CHANGES with how answers "
        f"recorded before the change are handled (Accepted or Migrated): {unlisted}"
    )
    stale = [change for change in QUESTION_CHANGES if change not in found]
    assert not stale, f"listed but not in copier.yml's history: {stale}"
    assert list(QUESTION_CHANGES) == found, "QUESTION_CHANGES is not in history order"
    migrations = copier_yml(None).get("_migrations", [])
    for change, handled in QUESTION_CHANGES.items():
        if isinstance(handled, Migrated):
            runs = [m for m in migrations if handled.command_text in str(m.get("command"))]
            assert runs, f"no _migrations entry runs {handled.command_text!r} for {change}"
            # A `before` stage: Copier reads the answers again after those migrations.
            assert all("'before'" in str(m.get("when")) for m in runs), change


def old_answer_sets() -> list[dict[str, Any]]:
    """The accepted changes' old answers as answers files: the i-th old answer of each question
    (cycling through the shorter lists), so a few renders try every one."""
    examples: dict[str, list[Any]] = {}
    for (question, *_), handled in QUESTION_CHANGES.items():
        if isinstance(handled, Accepted):
            examples.setdefault(question, []).extend(handled.old_answers)
    examples = {question: answers for question, answers in examples.items() if answers}
    depth = max(len(answers) for answers in examples.values())
    return [
        {question: answers[i % len(answers)] for question, answers in examples.items()}
        for i in range(depth)
    ]


@pytest.mark.parametrize("old_answers", old_answer_sets())
def test_accepted_old_answers_pass_todays_questionnaire(
    old_answers: dict[str, Any], tmp_path: Path
) -> None:
    """Given as recorded (e.g. an int), Copier casts and validates them with today's code."""
    project = tmp_path / "ledger"
    copier.run_copy(
        str(TEMPLATE_ROOT),
        str(project),
        data={"run_checks": False, **old_answers},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",  # the working tree, not the latest release tag
    )
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {question: str(recorded[question]) for question in old_answers} == {
        question: str(answer) for question, answer in old_answers.items()
    }
