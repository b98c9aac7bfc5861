"""How long generation takes, and what the template's own logic costs.

Prints one table:
- the median wall time of `copier copy` (Copier's API, no tasks: run_checks=false) of the
  largest answers (LARGEST), against a bare Copier copy of a trivial template made on the fly
  with the same number of files and no Jinja extensions, measured in the same run. Both
  templates are copied from plain folders (this template is snapshotted out of the working
  tree first), so the difference is rendering: the questionnaire's validators and defaults,
  the node_spec context hook and the templates themselves. The largest copy is timed three
  ways (see onex_jinja.CompiledTemplates):
  - warm: with the compile cache the warm-up copy filled (every copy after a machine's first);
  - first copy: an empty compile cache, so the entries come from the archive the template
    ships (compiled/, scripts/compile_templates.py): what a user meets, and CI;
  - nothing compiled ahead: an empty cache and no archive (another Python or Copier than the
    archive's, or a stale archive): every template compiled during the copy.
  The targets (issue 11 item 7): the warm copy and the first copy each at most 1.5x the
  trivial one;
- the per-call cost of node_spec's functions (timeit, microseconds per call), and of the
  import collapsing (python_imports.collapse_imports) over every Python module of one copy.

Run: `uv run python benchmarks/bench_generate.py [--runs 5]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import timeit
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import copier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "extensions"))

sys.path.insert(0, str(ROOT / "scripts"))

import node_spec  # noqa: E402  (found through the paths set just above)
from compile_templates import snapshot_template  # noqa: E402
from onex_jinja import CACHE_ENV  # noqa: E402
from python_imports import collapse_imports  # noqa: E402

# The answers that generate the most files: an effect with every integration, six operations
# and custom mixins. When a `variant` answer generates more (issue 11 item 5), name that
# variant here ("variant": ...) so the benchmark keeps timing the largest copy.
TARGET_RATIO = 1.5  # largest copy (warm cache, and a first copy) / trivial copy
LARGEST: dict[str, Any] = {
    "service_name": "order_fulfilment",
    "business_description": "Stores orders, publishes their changes and calls the carrier API.",
    "node_type": "effect",
    "domain": "order database",
    "operations": [
        "create_order",
        "get_order",
        "list_orders",
        "cancel_order",
        "ship_order",
        "refund_order",
    ],
    "features": ["custom_mixins", "fail_fast", "caching"],
    "dependencies": {"postgres": ">=15", "redis": ">=7"},
    "integrations": list(node_spec.INTEGRATIONS),
    "run_checks": False,
}


def trivial_template(into: Path, files: int) -> Path:
    """A template with one question, `files` small Jinja files and no extensions."""
    target = into / "trivial-template"
    (target / "template").mkdir(parents=True)
    (target / "copier.yml").write_text(
        "_subdirectory: template\nname:\n  type: str\n  default: order_fulfilment\n"
    )
    for index in range(files):
        (target / "template" / f"file_{index:03d}.py.jinja").write_text(
            f'"""File {index} of {{{{ name }}}}."""\n\nNAME = "{{{{ name }}}}"\n'
        )
    return target


def time_copies(
    template: Path, data: dict[str, Any], work: Path, runs: int, label: str, cold: bool = False
) -> list[tuple[float, float]]:
    """Wall and process CPU time of each of `runs` copies into work/<template>-<label>-<run>,
    after one warm-up copy that is not counted. The CPU time (this process only: not Copier's
    git calls) moves less than the wall time on a busy machine.

    cold: each timed copy starts from an empty compiled-template cache."""
    times: list[tuple[float, float]] = []
    for run in range(runs + 1):
        destination = work / f"{template.name}-{label}-{run}"
        if cold and run:
            os.environ[CACHE_ENV] = tempfile.mkdtemp(dir=work, prefix="jinja-cache-")
        started, started_cpu = time.perf_counter(), time.process_time()
        copier.run_copy(
            str(template),
            str(destination),
            data=data,
            defaults=True,
            unsafe=True,
            quiet=True,
            vcs_ref="HEAD",  # this checkout as it is, not its latest release tag
        )
        if run:
            times.append((time.perf_counter() - started, time.process_time() - started_cpu))
    return times


def medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    """The median wall time and the median CPU time."""
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def count_files(project: Path) -> int:
    return sum(1 for path in project.rglob("*") if path.is_file())


def per_call_us(function: Callable[[], object], number: int = 2000) -> float:
    """Best of 5 timeit repeats, in microseconds per call."""
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed copies per template")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        work = Path(tmp)
        # The run's own cache, not the machine's: "warm" means filled by the warm-up copy.
        os.environ[CACHE_ENV] = str(work / "jinja-cache")
        (work / "jinja-cache").mkdir()
        template = snapshot_template(work)
        largest = time_copies(template, LARGEST, work, args.runs, "warm")
        project = work / f"{template.name}-warm-1"
        files = count_files(project)
        modules = [path.read_text() for path in project.rglob("*.py")]
        trivial = trivial_template(work, files)
        bare = time_copies(trivial, {}, work, args.runs, "warm")
        largest_cold = time_copies(template, LARGEST, work, args.runs, "first", cold=True)
        (work / "no-archive").mkdir()
        uncompiled = snapshot_template(work / "no-archive", compiled=False)
        largest_uncompiled = time_copies(
            uncompiled, LARGEST, work, args.runs, "uncompiled", cold=True
        )

    answers = {
        key: LARGEST[key]
        for key in (
            "service_name",
            "node_type",
            "operations",
            "features",
            "dependencies",
            "integrations",
        )
    }
    description = LARGEST["business_description"]
    calls = {
        "build_spec": lambda: node_spec.build_spec(answers),
        "classify_node_type": lambda: node_spec.classify_node_type(description),
        "detect_integrations": lambda: node_spec.detect_integrations(
            LARGEST["domain"], LARGEST["operations"], LARGEST["features"], LARGEST["dependencies"]
        ),
        "select_base": lambda: node_spec.select_base("effect", LARGEST["features"]),
    }

    (median_largest, cpu_largest), (median_bare, cpu_bare) = medians(largest), medians(bare)
    median_cold, cpu_cold = medians(largest_cold)
    median_uncompiled, cpu_uncompiled = medians(largest_uncompiled)
    ratio, ratio_cold = median_largest / median_bare, median_cold / median_bare
    how = f"median of {args.runs}, CPU"
    rows = [
        (
            f"copier copy, largest answers ({files} files), warm compile cache",
            f"{median_largest * 1000:.0f} ms",
            f"{how} {cpu_largest * 1000:.0f} ms",
        ),
        (
            f"copier copy, largest answers ({files} files), first copy (empty cache)",
            f"{median_cold * 1000:.0f} ms",
            f"{how} {cpu_cold * 1000:.0f} ms",
        ),
        (
            f"copier copy, largest answers ({files} files), nothing compiled ahead",
            f"{median_uncompiled * 1000:.0f} ms",
            f"{how} {cpu_uncompiled * 1000:.0f} ms",
        ),
        (
            f"copier copy, trivial template ({files} files, no extensions)",
            f"{median_bare * 1000:.0f} ms",
            f"{how} {cpu_bare * 1000:.0f} ms",
        ),
        (
            "template overhead per copy, warm",
            f"{(median_largest - median_bare) * 1000:+.0f} ms",
            f"x{ratio:.2f} (target <= x{TARGET_RATIO}), CPU x{cpu_largest / cpu_bare:.2f}",
        ),
        (
            "template overhead per copy, first copy",
            f"{(median_cold - median_bare) * 1000:+.0f} ms",
            f"x{ratio_cold:.2f} (target <= x{TARGET_RATIO}), CPU x{cpu_cold / cpu_bare:.2f}",
        ),
        (
            "template overhead per copy, nothing compiled ahead",
            f"{(median_uncompiled - median_bare) * 1000:+.0f} ms",
            f"x{median_uncompiled / median_bare:.2f}, CPU x{cpu_uncompiled / cpu_bare:.2f}",
        ),
        *(
            (f"node_spec.{name}", f"{per_call_us(call):.1f} us", "per call, timeit")
            for name, call in calls.items()
        ),
        (
            f"python_imports.collapse_imports, all {len(modules)} modules of one copy",
            f"{per_call_us(lambda: [collapse_imports(m) for m in modules], number=50):.0f} us",
            "per copy, timeit",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    header = ("measurement", "time", "how")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print(f"Python {sys.version.split()[0]}, copier {copier.__version__}")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
