"""Refuse files that still hold merge conflict markers (pre-commit hook, standard library only).

`copier update` writes `<<<<<<< before updating` ... `>>>>>>> after updating` into a file when
its change and yours touch the same lines. This hook stops such a file from being committed
before the conflict is resolved. Usage: `python scripts/check_conflict_markers.py FILE...`;
exit status 1 when any file holds a marker.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Git and Copier write 7 characters followed by a space and a label, or a bare line.
MARKER = re.compile(rb"^(<{7}|>{7})(?: |\r?$)")


def conflict_lines(path: Path) -> list[int]:
    """1-based numbers of the lines of `path` that start with a conflict marker."""
    try:
        content = path.read_bytes()
    except OSError:
        return []
    return [
        number for number, line in enumerate(content.splitlines(), start=1) if MARKER.match(line)
    ]


def main(argv: list[str]) -> int:
    found = False
    for name in argv:
        for number in conflict_lines(Path(name)):
            print(f"{name}:{number}: merge conflict marker; resolve the conflict first")
            found = True
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
