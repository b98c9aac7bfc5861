"""Free-text answers (business_description, domain) rendered safely into every file format.

A free-text answer reaches TOML (pyproject.toml), YAML (contract.yaml), Python docstrings and
Markdown (README.md). Each format gets one function here, registered as a Jinja filter in
onex_jinja.py, so no template escapes text by hand.

One normalisation comes first, everywhere: every run of whitespace (spaces, tabs, newlines,
any Unicode space) becomes one space, and the ends are stripped. A description is one
paragraph: pyproject's description must be one line (core metadata's Summary), and the same
text in every file is easier to trust than four variants. Python docstrings then wrap it at
word boundaries, which changes nothing but where the lines break.

Plain Python only (unicodedata, yaml): this runs inside the user's Copier environment, which
has PyYAML (a Copier dependency) and nothing else of ours.
"""

from __future__ import annotations

import re
import unicodedata

import yaml

# The longest answers accepted: a description says what the node does "in a sentence" and is
# repeated in several files; a domain is a few words.
MAX_LENGTH: dict[str, int] = {"business_description": 2000, "domain": 200}
# Python's Unicode 3.2 database: a character named there has that name in every Python >= 3.12
# (names never change), so `\N{...}` written by any Copier Python compiles in the project's.
_UCD_3_2 = unicodedata.ucd_3_2_0


def text_error(value: object, question: str, *, allow_empty: bool = False) -> str:
    """Why `value` cannot be the free-text answer to `question`, or "" when it can.

    Refused: non-strings, blank text (unless `allow_empty`), text longer than MAX_LENGTH,
    control characters other than tab, newline and carriage return (NUL, ESC...: they mean
    nothing in a description, TOML cannot hold them raw, and Copier's answers file turns
    NEL, U+0085, into a line break), and lone surrogates (not Unicode text; no UTF-8 file can
    hold them). Every message names the question and fits 80 columns.
    """
    if not isinstance(value, str):
        return f"{question} must be text; got {type(value).__name__}"
    if not value.strip():
        return "" if allow_empty else f"{question} must not be empty"
    limit = MAX_LENGTH.get(question, 2000)
    if len(value) > limit:
        return f"{question} is {len(value)} characters long; the limit is {limit}"
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc" and char not in "\t\n\r":
            return f"{question} contains control character U+{ord(char):04X}; remove it"
        if category == "Cs":
            return f"{question} contains U+{ord(char):04X}, a lone surrogate; remove it"
    return ""


def normalize(text: str) -> str:
    """The one normalisation: whitespace runs become one space, the ends are stripped."""
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# TOML
# ---------------------------------------------------------------------------------------------
def toml_string(text: str) -> str:
    """`text`, normalised, as a TOML basic string (quotes included)."""
    out: list[str] = []
    for char in normalize(text):
        if char in '"\\':
            out.append("\\" + char)
        elif char < " " or char == "\x7f":
            # TOML forbids raw control characters in basic strings; \uXXXX is always allowed.
            out.append(f"\\u{ord(char):04X}")
        elif unicodedata.category(char) == "Cs":
            raise ValueError(f"a lone surrogate (U+{ord(char):04X}) cannot be written to TOML")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# ---------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------
def yaml_scalar(text: str) -> str:
    """`text`, normalised, as one YAML scalar on one line, as PyYAML dumps it."""
    dumped = yaml.safe_dump(normalize(text), allow_unicode=True, width=float("inf"))
    # A plain scalar at the top level is followed by the document-end marker; the scalar here
    # is a mapping value, so the marker goes.
    dumped = dumped.removesuffix("\n...\n").removesuffix("\n")
    if "\n" in dumped:
        raise ValueError(f"YAML dump of a normalised text spans lines: {dumped!r}")
    return dumped


# ---------------------------------------------------------------------------------------------
# Python
# ---------------------------------------------------------------------------------------------
def python_escape(text: str) -> str:
    """`text` as the body of a Python string literal, "..." or \"\"\"...\"\"\": evaluates to `text`.

    Printable ASCII stays as it is, except backslash and double quote, which are escaped.
    Everything else is an escape sequence, so generated source is pure ASCII: ruff's
    ambiguous-character rules (RUF001/RUF002: EN DASH, curly quotes, Greek letters...) and
    bidirectional-text checks have nothing to flag, and the value is still exactly `text`.
    Characters Python has always known by name are written `\\N{NAME}` (readable); the rest
    `\\xXX`, `\\uXXXX` or `\\UXXXXXXXX`.
    """
    out: list[str] = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif name := _UCD_3_2.name(char, ""):  # control characters have no name
            out.append(f"\\N{{{name}}}")
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def python_docstring(text: str, width: int = 96) -> str:
    """`text`, normalised, escaped (python_escape) and wrapped for a module docstring.

    Lines break only between words and hold at most `width` characters unless one escaped
    word is longer (it then has a line of its own); 96 leaves room for the quotes on the
    first and last line within ruff's 100 columns. Read back, the docstring is the
    normalised text with some spaces replaced by newlines.
    """
    lines: list[str] = []
    line = ""
    for word in map(python_escape, normalize(text).split(" ")):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
# Characters with a meaning anywhere in a CommonMark/GFM line: escapes, code spans, emphasis,
# links and images, raw HTML and autolinks, strikethrough, and GitHub's $math$.
_MARKDOWN_INLINE = re.compile(r"[\\`*\[\]<~$]")
# "_" opens or closes emphasis unless it sits between two letters or digits (snake_case).
_UNDERSCORES = re.compile(r"_+")
# "&" starts a character reference only when it looks like one (&amp; &#38; &#x26;).
_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]*;)")
# At the start of a line: headings, block quotes, list items, tables, setext and thematic breaks.
_BLOCK_START = re.compile(r"^(?:[#>+\-=|]|[0-9]{1,9}(?=[.)](?: |$)))")


def markdown_text(text: str) -> str:
    """`text`, normalised, as Markdown that renders exactly as `text` (one line, one paragraph).

    Backslash-escapes (CommonMark allows it before any ASCII punctuation) what would be read
    as markup. Not covered: what GitHub adds after rendering (@mentions, #123, :emoji:).
    """
    text = normalize(text)
    text = _MARKDOWN_INLINE.sub(lambda m: "\\" + m.group(), text)
    text = _ENTITY.sub(r"\\&", text)
    text = _UNDERSCORES.sub(lambda m: _underscores(m, text), text)
    match = _BLOCK_START.match(text)
    if match and match.group().isdigit():
        # "2024. Orders..." would start an ordered list: escape the "." or ")".
        end = match.end()
        text = text[:end] + "\\" + text[end:]
    elif match:
        text = "\\" + text
    return text


def _underscores(match: re.Match[str], text: str) -> str:
    start, end = match.span()
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() and after.isalnum():
        return match.group()
    return match.group().replace("_", "\\_")
