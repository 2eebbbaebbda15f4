"""The directories a run writes into: checked before a long run, one run at a time each.

Build, sim, synth and report write fixed names into a design directory (``qnet.json``,
``vectors.npz``, ``sim_<simulator>/``, ``synth_<board>/``): two runs on the same directory
would overwrite each other's files half-way. :func:`design_lock` serialises them with an
advisory lock file; a run that finds the directory busy says so and waits its turn.
"""

import contextlib
import fcntl
import pathlib

from .errors import IRError

__all__ = ["LOCK_FILE", "design_lock", "writable_dir"]

#: The lock file inside a design directory.
LOCK_FILE = ".snnhw.lock"


@contextlib.contextmanager
def design_lock(directory, on_wait=None):
    """Hold ``directory``'s lock for the ``with`` block (the directory is created).

    ``on_wait(message)`` is called once if another run holds it; then this one blocks until
    that run ends (the lock goes with the process, even when it is killed).
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"{directory}: another snnhw run is using this design directory; waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield directory


def writable_dir(path, what):
    """Create directory ``path`` and check a file can be written there; raise
    :class:`~snnhw.errors.IRError` naming ``what`` (e.g. ``-o``) otherwise."""
    path = pathlib.Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".snnhw-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise IRError(f"{what} {path}: cannot write there ({e.strerror or e})") from None
    return path
