"""Copier workarounds, in one place: a refused answer is one line, naming its question.

Copier 9.19 has three gaps here, all closed by wrapping methods of its Question class (by
the copy of this file loaded last, around Copier's own methods, so that of a process's
template versions the newest, rendered last by `copier update`, decides):

1. A list answer given as a plain string, `-d features=caching` or `features: caching` in a
   --data-file, reaches Copier's parse_yaml_list for a multiselect question, which raises
   `TypeError: Not a YAML list: 'caching'`: no question, no fix. The wrapper runs the
   question's own validator on the string instead, which says e.g. "features must be a YAML
   list, e.g. [caching]; got 'caching'".
2. An answer given with -d or --data-file that fails validation is a ValueError, which
   Copier's command line prints as a traceback with the message on its last line. The
   wrapper raises AnswerError instead: still a ValueError (so the API, the interactive
   prompt, which re-asks on a ValueError, and `copier update`, which drops a recorded answer
   that no longer validates, behave as before), and also Copier's UserMessageError, which
   its command line prints as one red line and exit code 1.
3. The interactive prompt shows a refused answer as "Validation error for question
   'service_name': service_name 'Order-Service' is not snake_case..." on one line that it
   cuts at the terminal's width: the prefix naming the question being asked takes 46 of 80
   columns. The wrapper leaves the prompt the validator's own message, which fits.

tests/test_bad_input.py proves each and checks that Copier still needs it: when a Copier
release fixes one, its test there fails and that part of this file can go.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from copier.errors import UserMessageError
from jinja2 import Environment
from jinja2.ext import Extension

try:  # a private module of Copier: if a release moves it, Copier's own messages apply
    from copier._user_data import Question
except ImportError:  # pragma: no cover - the pinned Copier has it (tests/test_bad_input.py)
    Question = None  # type: ignore[assignment,misc]

_MARK = "_onex_answer_messages"


class AnswerError(UserMessageError, ValueError):
    """A refused answer: Copier's message for it, printed without a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _one_line_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Question, answer: Any) -> Any:
        try:
            return method(self, answer)
        except AnswerError:
            raise
        except ValueError as error:
            raise AnswerError(str(error)) from error
        except TypeError as error:
            # A string Copier cannot parse for the question's type (for a multiselect, one
            # that is not a YAML list): the question's validator says what is wrong with it.
            if method.__name__ != "parse_answer" or not isinstance(answer, str):
                raise
            self.validate_answer(answer)
            expected = "a YAML list, e.g. [a, b]" if self.multiselect else "of its type"
            raise AnswerError(
                f"Validation error for question '{self.var_name}': {self.var_name} must be "
                f"{expected}; got {answer!r}"
            ) from error

    setattr(wrapper, _MARK, True)
    return wrapper


def _prompt_without_prefix(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Question) -> Any:
        structure = method(self)
        validate = structure.get("validate")
        if validate is None:
            return structure
        prefix = f"Validation error for question '{self.var_name}': "

        def validate_for_the_prompt(answer: Any) -> Any:
            outcome = validate(answer)
            return outcome.removeprefix(prefix) if isinstance(outcome, str) else outcome

        structure["validate"] = validate_for_the_prompt
        return structure

    setattr(wrapper, _MARK, True)
    return wrapper


_WRAPPERS = {
    "parse_answer": _one_line_errors,
    "validate_answer": _one_line_errors,
    "get_questionary_structure": _prompt_without_prefix,
}


class AnswerMessagesExtension(Extension):
    """Installs the wrappers when Copier builds its Jinja environment (before any question)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if Question is None:
            return
        # The copy of this file loaded last installs its wrappers, each around Copier's own
        # method: `copier update` renders the old version first, then the new one, whose
        # questions must meet the new version's wrappers, not the old ones.
        for name, wrap in _WRAPPERS.items():
            method = getattr(Question, name)
            original = method.__wrapped__ if getattr(method, _MARK, False) else method
            setattr(Question, name, wrap(original))
