"""Move user-owned files of a generated project to where a newer template version expects them.

Run by `copier update` as a `before` migration (copier.yml `_migrations`), in the project, when
the update crosses the release that moved the files:

    python move_user_files.py FROM TO

FROM and TO are paths relative to the project root, written like the `_skip_if_exists`
patterns: each `*` matches within one path segment, and the text the n-th `*` of FROM matched
replaces the n-th `*` of TO (so `src/*/nodes/*/logic.py` -> `src/*/nodes/*/logic/main.py`
keeps the package and node names). Every match is moved with `git mv`, so Copier's update diff
sees a rename and merges the template's side into the file at its new place instead of
recreating the example content there. A file whose destination already exists is left where
it is (reported), so running the migration twice changes nothing.

Standard library only: it runs under Copier's own interpreter.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """`a/*/b_*.py` -> a regex whose groups are what each `*` matched (never across `/`)."""
    return re.compile(
        "".join(
            "([^/]*)" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern)
        )
    )


def planned_moves(files: list[str], source: str, target: str) -> list[tuple[str, str]]:
    """(old path, new path) for every path in `files` that matches `source`."""
    if source.count("*") != target.count("*"):
        raise ValueError(f"{source!r} and {target!r} must have the same number of '*'")
    regex = pattern_regex(source)
    pieces = target.split("*")
    moves = []
    for old in files:
        match = regex.fullmatch(old)
        if match is not None:
            # Interleave TO's literal pieces with what FROM's wildcards matched.
            new = pieces[0] + "".join(
                capture + piece for capture, piece in zip(match.groups(), pieces[1:], strict=True)
            )
            moves.append((old, new))
    return moves


def tracked_files(root: Path) -> list[str]:
    """The files git tracks in `root` (Copier only updates a clean, committed project)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True
    )
    return sorted(name for name in listed.stdout.split("\0") if name)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path.cwd()
    moves = planned_moves(tracked_files(root), argv[0], argv[1])
    if not moves:
        print(f"[migrate] nothing matches {argv[0]}: nothing to move")
    for old, new in moves:
        if (root / new).exists():
            print(f"[migrate] {new} already exists: {old} left where it is, merge them by hand")
            continue
        (root / new).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "mv", "--", old, new], cwd=root, check=True)
        print(f"[migrate] moved {old} -> {new}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
