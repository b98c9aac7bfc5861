"""Copier workaround: a list answer given as a plain string is refused naming its question.

Copier 9.19 parses the answer to a multiselect question (`features`, `integrations`) given as a
string, as `-d features=caching` or `features: caching` in a --data-file, with its
parse_yaml_list, which raises `TypeError: Not a YAML list: 'caching'`: no question, no fix.
Every other refused answer gets "Validation error for question '<name>': <message>". This
extension wraps Question.parse_answer (once per process, whatever number of template versions
load it) so that case runs the question's own validator on the string instead, which says
e.g. "features must be a YAML list, e.g. [caching]; got 'caching'". Any other answer goes
through Copier unchanged.

tests/test_bad_input.py proves the message and checks that Copier still raises its TypeError:
when a Copier release names the question itself, that test fails and this file can go.
"""

from __future__ import annotations

import functools
from typing import Any

from copier._user_data import Question
from jinja2 import Environment
from jinja2.ext import Extension

_MARK = "_onex_plain_string_answers"


def _parse_answer_naming_the_question(parse_answer: Any) -> Any:
    @functools.wraps(parse_answer)
    def wrapper(self: Question, answer: Any) -> Any:
        try:
            return parse_answer(self, answer)
        except TypeError as error:
            if not (self.multiselect and isinstance(answer, str)):
                raise
            # The validator sees the raw string and says what is wrong with it.
            self.validate_answer(answer)
            raise ValueError(
                f"Validation error for question '{self.var_name}': {self.var_name} must be "
                f"a YAML list, e.g. [a, b]; got {answer!r}"
            ) from error

    setattr(wrapper, _MARK, True)
    return wrapper


class PlainStringAnswersExtension(Extension):
    """Installs the wrapper when Copier builds its Jinja environment (before any question)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if not getattr(Question.parse_answer, _MARK, False):
            Question.parse_answer = _parse_answer_naming_the_question(Question.parse_answer)  # type: ignore[method-assign]
