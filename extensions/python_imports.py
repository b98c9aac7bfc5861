"""Puts the generated project's imports on one line wherever they fit.

The templates write every import of a generated module exploded, one name per line with a
trailing comma, because that form is valid whatever length of name the answers produce:

    from {{ package_name }}.runtime.node_logging import (
        NodeLogger,
    )

Once the names are known, an import that fits within the project's line length reads better on
one line, and that is also the form ruff's isort gives it. This extension renders every
`*.py.jinja` template through `collapse_imports`, so the templates need not guess lengths.
"""

from __future__ import annotations

import re

from jinja2 import Environment
from jinja2.ext import Extension

# [tool.ruff] line-length in template/pyproject.toml.jinja (tests/test_python_imports.py
# checks that the two agree).
LINE_LENGTH = 100

# `from module import (` + one `name,` per line + `)`, at any indentation. Aliased names
# (`x as y`) and comments are left alone: isort keeps those in their own forms.
_EXPLODED_IMPORT = re.compile(
    r"^(?P<indent>[ ]*)from (?P<module>[\w.]+) import \(\n"
    r"(?P<names>(?:(?P=indent)[ ]{4}\w+,\n)+)"
    r"(?P=indent)\)$",
    re.MULTILINE,
)


def collapse_imports(source: str, line_length: int = LINE_LENGTH) -> str:
    """`source` with each exploded import that fits in `line_length` written on one line."""

    def collapse(match: re.Match[str]) -> str:
        names = ", ".join(line.strip().rstrip(",") for line in match["names"].splitlines())
        one_line = f"{match['indent']}from {match['module']} import {names}"
        return one_line if len(one_line) <= line_length else match[0]

    return _EXPLODED_IMPORT.sub(collapse, source)


def _renders_python(template_name: str) -> bool:
    """Whether the template renders a .py file; conditional names (`{% if x %}a.py{% endif %}.jinja`)
    count by the name they render to."""
    return re.sub(r"{%.*?%}", "", template_name).endswith(".py.jinja")


class PythonImportsExtension(Extension):
    """Wraps every `*.py.jinja` template in `{% filter collapse_python_imports %}`."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["collapse_python_imports"] = collapse_imports

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name is None or not _renders_python(name):
            return source  # answers, paths and other files render as written
        # No newline is added, so line numbers in template errors stay right.
        return "{% filter collapse_python_imports %}" + source + "{% endfilter %}"
