"""The content-keyed build cache (snnhw.sim.cache): built once, published atomically."""

import concurrent.futures
import threading
import time

import pytest

from snnhw.sim import cache
from snnhw.sim.cache import build_key, cached_build


def writer(calls, text="ok", delay=0.0):
    def build(tmp):
        calls.append(tmp)
        time.sleep(delay)
        (tmp / "out.txt").write_text(text)
    return build


def test_built_once_then_reused(tmp_path):
    calls = []
    entry, built = cached_build(tmp_path, "x", {"a": 1}, writer(calls))
    again, built_again = cached_build(tmp_path, "x", {"a": 1}, writer(calls))
    assert (built, built_again) == (True, False)
    assert entry == again and len(calls) == 1
    assert (entry / "out.txt").read_text() == "ok"


def test_key_covers_every_part(tmp_path):
    assert build_key({"a": 1, "b": [1, 2]}) == build_key({"b": [1, 2], "a": 1})
    assert build_key({"a": 1}) != build_key({"a": 2})
    calls = []
    first, _ = cached_build(tmp_path, "x", {"verilog": "module a;"}, writer(calls))
    second, built = cached_build(tmp_path, "x", {"verilog": "module b;"}, writer(calls))
    assert built and first != second and len(calls) == 2


def test_concurrent_builders_build_once(tmp_path):
    calls = []
    start = threading.Barrier(4)

    def use(_):
        start.wait()
        return cached_build(tmp_path, "x", {"a": 1}, writer(calls, delay=0.2))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(use, range(4)))
    assert len(calls) == 1
    assert len({entry for entry, _ in results}) == 1
    assert sorted(built for _, built in results) == [False, False, False, True]


def test_failed_build_leaves_nothing(tmp_path):
    def broken(tmp):
        (tmp / "half.o").write_text("")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="^compiler crashed$"):
        cached_build(tmp_path, "x", {"a": 1}, broken)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
    _, built = cached_build(tmp_path, "x", {"a": 1}, writer([]))
    assert built


def test_old_entries_pruned(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 2)
    entries = []
    for k in range(4):
        entries.append(cached_build(tmp_path, "x", {"a": k}, writer([]))[0])
        time.sleep(0.01)
    assert sorted(tmp_path.glob("x-*")) == sorted(entries[2:])


def test_cache_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SNNHW_CACHE_DIR", str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv("SNNHW_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "snnhw"
