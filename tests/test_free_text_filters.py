"""extensions/free_text.py on its own: each filter's output, read back by an independent parser
of its format (tomllib and tomlkit, PyYAML, Python's compiler, markdown-it), is the text.

Fast (no Copier): many examples per filter. tests/test_free_text.py renders whole projects.
"""

from __future__ import annotations

import ast
import tomllib
import unicodedata
import warnings

import free_text
import pytest
import tomlkit
import yaml
from free_text import normalize
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

# Pieces that have broken, or could break, one of the formats; mixed with arbitrary text.
NASTY = (
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "\\n",
    "\\N{",
    "\\u",
    "\n",
    "\t",
    "\r\n",
    "\r",
    "\x0b",
    "\x0c",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "\u200f",
    "\u202e",
    "\u2066",
    "\u2028",
    "\x85",
    "\ufeff",
    "\u00a0",
    "\u3000",
    "\u200b",
    "\u00ad",
    "\N{COMBINING ACUTE ACCENT}",
    "\uffff",
    "\ufffe",
    "\U0001f44d",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\u2013",
    "\u2018",
    "\u201c",
    "\u00b5",
    "\u00d7",
    "\u03b1",
    "caf\u00e9",
    "\u041f\u0440\u0438\u0432\u0435\u0442",
    "\u65e5\u672c",
    "\U000e0001",
    "\U0010fffd",
    "*",
    "**",
    "_",
    "__",
    "`",
    "```",
    "~~",
    "$x$",
    "<b>",
    "<!--",
    "&amp;",
    "&#38;",
    "&#x26;",
    "&copy",
    "# ",
    "#",
    "> ",
    "- ",
    "+ ",
    "1. ",
    "2) ",
    "---",
    "===",
    "|",
    "[a](b)",
    "![i](j)",
    "[x]",
    "\\*",
    ": ",
    "- [ ]",
    "key: value",
    "!tag",
    "&anchor",
    "*alias",
    "%YAML",
    "...",
    "? ",
    "@",
    "0x1F",
    "null",
    "~",
    "yes",
)
TEXT = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(max_size=8)), min_size=1, max_size=10
).map("".join)
# What survives the copier.yml validators (no control characters but tab, newline and
# carriage return, no lone surrogates); the filters themselves must cope with the rest too, where a format can.
SAFE_TEXT = TEXT.filter(lambda t: free_text.text_error(t, "domain", allow_empty=True) == "")

MANY = settings(max_examples=200, deadline=None, derandomize=True, database=None)


# ---------------------------------------------------------------------------------------------
# TOML
# ---------------------------------------------------------------------------------------------
@MANY
@given(text=TEXT.filter(lambda t: not any(unicodedata.category(c) == "Cs" for c in t)))
@example(text='a "quoted" \\ path\\')
@example(text="\x00\x01\x1f\x7f")
def test_toml_string_reads_back_as_the_normalised_text(text: str) -> None:
    document = f"description = {free_text.toml_string(text)}\n"
    assert tomllib.loads(document)["description"] == normalize(text)
    assert tomlkit.parse(document)["description"] == normalize(text)


def test_toml_string_refuses_a_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        free_text.toml_string("a \ud800 b")


# ---------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------
@MANY
@given(text=TEXT.filter(lambda t: not any(unicodedata.category(c) == "Cs" for c in t)))
@example(text="key: value # not a comment")
@example(text="- item")
@example(text="'single' \"double\"")
@example(text="yes")
@example(text="\uffff\ufeff")
def test_yaml_scalar_reads_back_as_the_normalised_text(text: str) -> None:
    scalar = free_text.yaml_scalar(text)
    assert "\n" not in scalar
    loaded = yaml.safe_load(f"name: x\ndescription: {scalar}\nnext: 1\n")
    assert loaded == {"name": "x", "description": normalize(text), "next": 1}


# ---------------------------------------------------------------------------------------------
# Python
# ---------------------------------------------------------------------------------------------
def _evaluate(literal: str) -> str:
    """The value of a Python literal, failing on any SyntaxWarning (e.g. invalid escapes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = ast.parse(literal, mode="eval")
        compile(literal, "<literal>", "eval")
    value = ast.literal_eval(tree)
    assert isinstance(value, str)
    return value


@MANY
@given(text=st.one_of(TEXT, st.text()))
@example(text='"')
@example(text='""""')
@example(text="ends with a backslash \\")
@example(text="\\N{EN DASH} is not an escape here")
@example(text="\ud800\udfff")
def test_python_escape_is_exact_in_every_string_form(text: str) -> None:
    body = free_text.python_escape(text)
    assert body.isascii()
    assert body.isprintable()
    for literal in (f'"{body}"', f'"""{body}"""'):
        assert _evaluate(literal) == text


@MANY
@given(text=SAFE_TEXT, width=st.integers(min_value=20, max_value=120))
@example(text="word " * 60, width=96)
@example(text="x" * 300, width=96)
def test_python_docstring_wraps_between_words_only(text: str, width: int) -> None:
    body = free_text.python_docstring(text, width)
    value = _evaluate(f'"""{body}"""')
    assert normalize(value) == normalize(text)
    # Newlines only where a space was: every line is whole words.
    assert value.replace("\n", " ") == normalize(text)
    for line in body.split("\n"):
        # Over the width only when the line is one (escaped) word.
        assert len(line) <= width or " " not in _evaluate(f'"""{line}"""')


def test_python_docstring_keeps_escapes_whole() -> None:
    """\\N{...} contains spaces; a line break inside one would not compile."""
    text = "\u2013" * 3 + " x" * 80
    body = free_text.python_docstring(text, 30)
    assert body.splitlines()[0] == "\\N{EN DASH}" * 3
    assert _evaluate(f'"""{body}"""').replace("\n", " ") == text


def test_python_escape_names_only_characters_every_python_knows() -> None:
    # U+1F44D (Unicode 6.0) is unknown to the Unicode 3.2 database: a code, not a name.
    assert free_text.python_escape("\u00e9\U0001f44d\x07") == (
        "\\N{LATIN SMALL LETTER E WITH ACUTE}\\U0001f44d\\x07"
    )


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _rendered_text(markdown: str) -> str:
    """The text of a one-paragraph document, failing if any markup was recognised."""
    tokens = _MARKDOWN.parse(markdown)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], tokens
    children = tokens[1].children or []
    assert all(child.type == "text" for child in children), children
    return "".join(child.content for child in children)


@MANY
@given(text=SAFE_TEXT.filter(lambda t: t.strip()))
@example(text="# not a heading")
@example(text="1. not a list")
@example(text="2024) nor this")
@example(text="3.14 stays as it is")
@example(text="- [ ] nor a task")
@example(text="snake_case and _emphasis_ and __strong__")
@example(text="Node<Name><Type> &amp; &#38; R&D <!-- x -->")
@example(text="`code` *em* ~~del~~ [link](u) ![img](u) <http://x.y>")
@example(text="--- ")
@example(text="\\")
def test_markdown_text_renders_as_the_text(text: str) -> None:
    markdown = free_text.markdown_text(text)
    assert "\n" not in markdown
    assert _rendered_text(markdown) == normalize(text)


def test_markdown_text_leaves_plain_prose_alone() -> None:
    prose = "Creates records and reads them back on request, e.g. order_id 42 (fast)."
    assert free_text.markdown_text(prose) == prose


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a $5 fee", "a \\$5 fee"),  # GitHub renders $...$ as math
        ("#1 priority", "\\#1 priority"),
        ("2024. Orders", "2024\\. Orders"),
        ("_db_", "\\_db\\_"),
        ("R&D &amp;", "R&D \\&amp;"),
    ],
)
def test_markdown_text_escapes_only_what_is_markup(text: str, escaped: str) -> None:
    assert free_text.markdown_text(text) == escaped


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "business_description must not be empty"),
        (" \n\t ", "business_description must not be empty"),
        ("a\x00b", "business_description contains control character U+0000; remove it"),
        ("bell\x07", "business_description contains control character U+0007; remove it"),
        ("esc \x1b[31m", "business_description contains control character U+001B; remove it"),
        ("\x9b", "business_description contains control character U+009B; remove it"),
        # Whitespace, but Copier's answers file reads NEL back as a line break.
        ("a\x85b", "business_description contains control character U+0085; remove it"),
        ("form\x0cfeed", "business_description contains control character U+000C; remove it"),
        ("a \ud800", "business_description contains U+D800, a lone surrogate; remove it"),
        ("x" * 2001, "business_description is 2001 characters long; the limit is 2000"),
        (42, "business_description must be text; got int"),
        (None, "business_description must be text; got NoneType"),
    ],
)
def test_text_error_names_the_question(value: object, message: str) -> None:
    assert free_text.text_error(value, "business_description") == message
    assert len(message) <= 80


@pytest.mark.parametrize("value", ["ok", "tabs\tand\nnewlines\r\n", "x" * 2000, "\U0001f44d"])
def test_text_error_accepts_text(value: str) -> None:
    assert free_text.text_error(value, "business_description") == ""


def test_domain_may_be_empty_but_not_long() -> None:
    assert free_text.text_error("", "domain", allow_empty=True) == ""
    assert free_text.text_error(" ", "domain", allow_empty=True) == ""
    assert free_text.text_error("d" * 201, "domain", allow_empty=True) == (
        "domain is 201 characters long; the limit is 200"
    )


@given(value=st.text(max_size=300))
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_every_message_fits_80_columns(value: str) -> None:
    for question in free_text.MAX_LENGTH:
        assert len(free_text.text_error(value, question)) <= 80
