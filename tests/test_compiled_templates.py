"""Unit tests of extensions/onex_jinja.py's CompiledTemplates: what is reused, and when not."""

from __future__ import annotations

import marshal
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import onex_jinja
import pytest
from conftest import TEMPLATE_ROOT
from jinja2 import DictLoader, Environment
from jinja2.ext import Extension
from onex_jinja import CACHE_ENV, CompiledTemplates, _environment_fingerprint

sys.path.insert(0, str(TEMPLATE_ROOT / "scripts"))

import compile_templates  # found through the path set just above


class CountingPreprocess(Extension):
    """Counts preprocess calls, as Copier's yield tag relies on them (it resets its state)."""

    calls = 0

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        CountingPreprocess.calls += 1
        return source


def environment(**options: object) -> Environment:
    return Environment(
        loader=DictLoader({"file.txt.jinja": "{% if x %}{{ x }}{% endif %}!"}),
        extensions=[CompiledTemplates, CountingPreprocess],
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    CountingPreprocess.calls = 0
    return tmp_path


def forbid_compiling(env: Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    def compile_(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although cached")

    monkeypatch.setattr(env, "compile", compile_)


def test_a_string_is_compiled_once_per_environment_and_preprocessed_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = environment()
    first = env.from_string("{{ a }}-{{ b }}")
    forbid_compiling(env, monkeypatch)
    second = env.from_string("{{ a }}-{{ b }}")

    assert second is first
    assert second.render(a=1, b=2) == "1-2"
    assert CountingPreprocess.calls == 2


def test_a_file_compiled_by_one_environment_is_loaded_by_the_next(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert environment().get_template("file.txt.jinja").render(x=1) == "1!"
    assert len(list(cache_dir.iterdir())) == 1
    CountingPreprocess.calls = 0

    fresh = environment()
    forbid_compiling(fresh, monkeypatch)

    assert fresh.get_template("file.txt.jinja").render(x=2) == "2!"
    assert CountingPreprocess.calls == 1  # the hooks still run on a cached file


def test_strings_are_cached_across_environments_too(monkeypatch: pytest.MonkeyPatch) -> None:
    environment().from_string("{{ a }}")
    fresh = environment()
    forbid_compiling(fresh, monkeypatch)

    assert fresh.from_string("{{ a }}").render(a="x") == "x"


def test_an_environment_compiling_differently_gets_its_own_entries(cache_dir: Path) -> None:
    plain, trimmed = environment(), environment(trim_blocks=True)

    assert _environment_fingerprint(plain) != _environment_fingerprint(trimmed)
    assert _environment_fingerprint(plain) == _environment_fingerprint(environment())
    plain.get_template("file.txt.jinja").render(x=1)
    trimmed.get_template("file.txt.jinja").render(x=1)
    assert len(list(cache_dir.iterdir())) == 2


def test_a_changed_source_is_compiled_again(monkeypatch: pytest.MonkeyPatch) -> None:
    environment().get_template("file.txt.jinja").render(x=1)
    changed = environment()
    changed.loader = DictLoader({"file.txt.jinja": "{{ x }}?"})

    assert changed.get_template("file.txt.jinja").render(x=1) == "1?"


def test_the_cache_can_be_turned_off(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    env = environment()
    env.get_template("file.txt.jinja").render(x=1)

    assert env.bytecode_cache is None
    assert list(cache_dir.iterdir()) == []


def test_a_folder_it_cannot_write_to_only_loses_the_speed_up(cache_dir: Path) -> None:
    env = environment()
    cache_dir.rmdir()  # gone between two copies, say: writing an entry fails

    assert env.get_template("file.txt.jinja").render(x=1) == "1!"
    assert env.from_string("{{ a }}").render(a=2) == "2"
    assert not cache_dir.exists()


def test_a_cache_path_that_is_no_folder_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "a-file"))
    env = environment()

    assert env.bytecode_cache is None
    assert env.get_template("file.txt.jinja").render(x=1) == "1!"


def test_a_folder_that_does_not_exist_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "new" / "cache"))
    environment().get_template("file.txt.jinja").render(x=1)

    assert len(list((tmp_path / "new" / "cache").iterdir())) == 1


LITERALS = ["True", "", "src", "*.py[co]", "~*", "a { b } c", "50%", "#1"]


@pytest.mark.parametrize("source", LITERALS)
def test_a_literal_renders_as_jinja_renders_it_without_compiling(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment()
    forbid_compiling(env, monkeypatch)

    assert env.from_string(source).render(a=1) == Environment().from_string(source).render(a=1)
    assert CountingPreprocess.calls == 1  # Copier's yield tag resets its state in the hook
    assert not list(Path(env.bytecode_cache.directory).iterdir())  # type: ignore[union-attr]


def recorded_compiles(env: Environment) -> list[str]:
    """The sources `env` compiles from now on, in order (it still compiles them)."""
    compiled: list[str] = []
    compile_ = env.compile

    def compile_and_record(source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(source)
        return compile_(source, *args, **kwargs)

    env.compile = compile_and_record  # type: ignore[method-assign]
    return compiled


@pytest.mark.parametrize(
    "source", ["{{ a }}", "{% if a %}x{% endif %}", "{# c #}", "a\n", "a\r\nb"]
)
def test_anything_jinja_could_change_is_compiled(source: str) -> None:
    env = environment(keep_trailing_newline=False, newline_sequence="\r\n")
    compiled = recorded_compiles(env)

    assert env.from_string(source).render(a=1) == environment(
        keep_trailing_newline=False, newline_sequence="\r\n"
    ).from_string(source).render(a=1)
    assert compiled == [source]


def test_a_literal_renders_without_building_a_context() -> None:
    """Copier renders each path part with its whole context; a literal reads none of it, so
    the context hooks (OnexContext's spec) do not run for it."""
    env = environment()

    class NoContext(jinja2.runtime.Context):
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("a context was built")

    env.context_class = NoContext

    assert env.from_string("src").render(a=1) == "src"
    with pytest.raises(AssertionError, match="a context was built"):
        env.from_string("{{ a }}").render(a=1)


class StreamFilter(Extension):
    """An extension that may rewrite any token, plain text included."""

    def filter_stream(self, stream: object) -> object:
        return stream


def test_an_extension_filtering_token_streams_turns_the_literal_shortcut_off() -> None:
    env = Environment(extensions=[CompiledTemplates, StreamFilter])
    compiled = recorded_compiles(env)

    assert env.from_string("src").render() == "src"
    assert compiled == ["src"]


def test_the_optimizer_is_off_copier_renders_each_template_once() -> None:
    assert environment().optimized is False


# The archive the template ships (compiled/, scripts/compile_templates.py): a machine's first
# copy reads its entries where the folder has none.
def archive_of(cache_dir: Path, archive: Path) -> dict[str, bytes]:
    """Pack `cache_dir`'s entries (by key) the way compile_templates does, into `archive`."""
    prefix, suffix = onex_jinja.CACHE_PATTERN.split("%s")
    entries = {p.name[len(prefix) : -len(suffix)]: p.read_bytes() for p in cache_dir.iterdir()}
    archive.write_bytes(zlib.compress(marshal.dumps(entries)))
    for path in cache_dir.iterdir():
        path.unlink()
    return entries


@pytest.fixture
def shipped(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An archive of file.txt.jinja's entry, shipped; the per-machine folder left empty."""
    archive = tmp_path.parent / f"{tmp_path.name}-archive.bin"
    environment().get_template("file.txt.jinja").render(x=1)
    assert len(archive_of(cache_dir, archive)) == 1
    monkeypatch.setattr(onex_jinja, "shipped_archive", lambda root: archive)
    CountingPreprocess.calls = 0
    return archive


def test_a_first_copy_loads_the_shipped_entries(
    shipped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment()
    forbid_compiling(env, monkeypatch)

    assert env.get_template("file.txt.jinja").render(x=3) == "3!"
    assert CountingPreprocess.calls == 1


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda entry: b"j3" + entry[2:], id="another Jinja or Python"),
        pytest.param(lambda entry: entry[:40], id="truncated entry"),
    ],
)
def test_a_shipped_entry_this_jinja_cannot_use_is_compiled_again(
    shipped: Path, damage: Callable[[bytes], bytes]
) -> None:
    entries = marshal.loads(zlib.decompress(shipped.read_bytes()))
    shipped.write_bytes(zlib.compress(marshal.dumps({k: damage(v) for k, v in entries.items()})))
    env = environment()
    compiled = recorded_compiles(env)

    assert env.get_template("file.txt.jinja").render(x=4) == "4!"
    assert len(compiled) == 1


@pytest.mark.parametrize("content", [b"", b"not an archive", zlib.compress(b"\x00garbage")])
def test_an_unreadable_archive_only_loses_the_speed_up(shipped: Path, content: bytes) -> None:
    shipped.write_bytes(content)

    assert environment().get_template("file.txt.jinja").render(x=5) == "5!"


def test_the_shipped_archive_holds_everything_a_copy_compiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fails when a template, partial, copier.yml string or extension changed since the archive
    was made: run `uv run python scripts/compile_templates.py` and commit compiled/."""
    archive = onex_jinja.shipped_archive(TEMPLATE_ROOT)
    if not archive.is_file():
        pytest.skip(f"no {archive.name} for this Python: compile_templates.py makes one")
    template = compile_templates.snapshot_template(tmp_path)
    compiled: list[str] = []
    compile_ = jinja2.Environment.compile

    def counting(
        self: jinja2.Environment, source: str, name: str | None = None, *a: Any, **k: Any
    ) -> Any:
        if isinstance(source, str):  # Copier also passes other answers: Jinja refuses them
            compiled.append(name or source)
        return compile_(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    for name, data in compile_templates.answer_sets():
        monkeypatch.setenv(CACHE_ENV, str(tmp_path / f"cache-{name}"))  # a first copy, each
        compile_templates.copy(template, data, tmp_path / name)
    assert not compiled, (
        f"{archive.relative_to(TEMPLATE_ROOT)} is stale ({len(compiled)} templates compiled, "
        f"e.g. {sorted(set(compiled))[:3]}): run `uv run python scripts/compile_templates.py`"
    )
