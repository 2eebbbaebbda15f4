"""A build cache keyed by content: a build is made once, atomically, and then reused.

Each entry is a directory ``<root>/<name>-<key>`` where ``key`` hashes everything the build
depends on. A build runs in a temporary directory beside it and is published by one
``rename``, under a lock file, so concurrent builders (threads or processes) of the same key
build it once and never see a half-made entry.
"""

import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import tempfile

__all__ = ["build_key", "cached_build", "cache_root"]

#: Entries of one name kept in a root (least recently used ones beyond it are removed).
KEEP = 4


def cache_root():
    """Where builds shared by every design live: ``$SNNHW_CACHE_DIR``, else
    ``~/.cache/snnhw`` (``$XDG_CACHE_HOME/snnhw``)."""
    if os.environ.get("SNNHW_CACHE_DIR"):
        return pathlib.Path(os.environ["SNNHW_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "snnhw"


def build_key(parts):
    """SHA-256 (hex) of ``parts``, a JSON-serialisable description of a build's inputs."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cached_build(root, name, parts, build):
    """The entry for ``parts``; runs ``build(directory)`` into a fresh directory if absent.

    Parameters
    ----------
    root : path      where entries live (created if needed)
    name : str       entry prefix, e.g. ``fast-verilator``
    parts : dict     everything the build depends on (hashed into the key)
    build : callable ``build(tmp_dir)`` fills ``tmp_dir``; raising leaves no entry

    Returns ``(entry_dir, built)``: ``built`` is ``False`` when the entry existed.
    """
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    key = build_key(parts)[:24]
    entry = root / f"{name}-{key}"
    with open(root / f".{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)       # released when the file closes
        if (entry / "key.json").exists():
            os.utime(entry)                      # most recently used
            return entry, False
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}-{key}-", dir=root))
        try:
            build(tmp)
            os.chmod(tmp, 0o755)
            (tmp / "key.json").write_text(json.dumps(parts, indent=1, sort_keys=True) + "\n")
            os.rename(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(root, name, entry)
    return entry, True


def _prune(root, name, keep):
    """Remove the least recently used entries of ``name`` beyond :data:`KEEP`."""
    entries = sorted((p for p in root.glob(f"{name}-*") if p.is_dir()),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
