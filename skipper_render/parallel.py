"""Shards: one stage's work split across forked worker processes, merged back in order.

Rendering one capability reads only the resolved fleet and returns its own objects and findings,
so contiguous runs of capabilities (shards) can render in any process. A worker is a fork of the
render, so it starts with everything resolved and nothing is sent to it; it writes its result,
pickled, to an anonymous file and exits. The caller merges the results in shard order, so a
render's output and diagnostics are the same for any number of jobs.

A worker that fails in any way (it cannot start, raises, is killed, leaves a result that does not
unpickle) is not an error: its shard is rendered again in this process, where an exception then
surfaces exactly as in a serial render. Where forking is not safe or not possible (no `os.fork`,
other threads running) every shard renders in this process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from skipper_render.errors import Location, ValidationError

# `pickle`, `signal` and `threading` are imported where a fork is considered: every process imports
# this module, and a one-capability render (Argo CD's call) never forks (~3 ms of start-up).

__all__ = ["MIN_SHARD", "jobs_setting", "map_shards", "split", "usable_cpus", "workers"]

T = TypeVar("T")
R = TypeVar("R")

MIN_SHARD = 100  # items per worker below which forking costs more than it saves
MAX_AUTO = 8  # workers that `jobs=0` (one per usable CPU) starts at most


def usable_cpus(root: str = "/sys/fs/cgroup", membership: str = "/proc/self/cgroup") -> int:
    """The CPUs this process may use: its affinity mask, capped by the CPU quota (`cpu.max`) of its
    cgroup v2 and of every cgroup above it, as Go 1.25 sets GOMAXPROCS (a container limited to 1.5
    CPUs gets 2 workers, not one per CPU of the node). No cgroup v2: the affinity mask alone."""
    found = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        with open(membership, encoding="utf-8") as lines:
            own = next(line[3:].strip() for line in lines if line.startswith("0::"))
    except (OSError, StopIteration):
        return found
    parts = [p for p in own.split("/") if p not in ("", ".", "..")]
    for depth in range(len(parts), -1, -1):  # this cgroup, then each parent up to the root
        try:
            with open(os.path.join(root, *parts[:depth], "cpu.max"), encoding="ascii") as limits:
                quota, period = limits.read().split()[:2]
            if quota != "max":
                found = min(found, max(1, -(-int(quota) // int(period))))
        except (OSError, ValueError):  # no such file at this level (the root has none), or unreadable
            continue
    return found


def jobs_setting(value: str | None, where: str) -> int:
    """The `SKIPPER_JOBS` value a plugin reads from its environment (unset or empty: 0, automatic)."""
    if not value:
        return 0
    if not value.isdigit() or not value.isascii():
        raise ValidationError.at(Location(where), f"{where} must be a whole number of processes (0: automatic)")
    return int(value)


def workers(jobs: int, items: int) -> int:
    """How many processes share `items` items when `jobs` are asked for (0: one per usable CPU)."""
    if jobs == 1 or items < 2 * MIN_SHARD or not _can_fork():
        return 1
    wanted = jobs if jobs > 0 else min(usable_cpus(), MAX_AUTO)
    return max(1, min(wanted, items // MIN_SHARD))


def _can_fork() -> bool:
    """A fork is safe and its exit can be waited for: no other thread holds a lock it would copy,
    and SIGCHLD is not ignored (then the kernel reaps workers before their exit code is read)."""
    import signal
    import threading

    return (
        hasattr(os, "fork") and threading.active_count() == 1 and signal.getsignal(signal.SIGCHLD) is not signal.SIG_IGN
    )


def split(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """`parts` contiguous runs of `items`, in order, their lengths differing by one at most."""
    size, extra = divmod(len(items), parts)
    bounds = [i * size + min(i, extra) for i in range(parts + 1)]
    return [items[bounds[i] : bounds[i + 1]] for i in range(parts)]


class _Child(NamedTuple):
    pid: int
    fd: int  # an anonymous file the worker writes its pickled result to


def map_shards(fn: Callable[[Sequence[T]], R], items: Sequence[T], jobs: int) -> list[R]:
    """`fn` of each shard of `items`, in shard order: the first in this process, the others in
    forked workers running meanwhile (see the module docstring)."""
    first, *rest = split(items, workers(jobs, len(items)))
    running: list[_Child] = []
    try:
        started: list[tuple[Sequence[T], _Child | None]] = []
        for shard in rest:
            child = _fork(fn, shard)
            started.append((shard, child))
            running += [child] if child is not None else []
        results = [fn(first)]
        for shard, child in started:
            found = None
            if child is not None:
                found = _collect(child)
                running.remove(child)
                os.close(child.fd)
            results.append(fn(shard) if found is None else found[0])
    finally:
        for child in running:  # this process failed first: stop the workers it will not read
            _stop(child)
    return results


def _fork(fn: Callable[[Sequence[T]], R], shard: Sequence[T]) -> _Child | None:
    """A worker computing `fn(shard)`, or None when none could start (out of processes, of memory)."""
    import pickle  # here, before the fork: no worker imports it on its own

    # A file, not a pipe: the worker writes its result at once and exits (through a pipe, 64 KiB
    # at a time, it waited for this process to read, and 4.5 MB took 50-80 ms in this VM).
    try:
        fd = os.memfd_create("skipper-shard", os.MFD_CLOEXEC) if hasattr(os, "memfd_create") else _temporary()
    except OSError:
        return None
    code = 1
    try:
        pid = os.fork()
    except OSError:
        os.close(fd)
        return None
    if pid == 0:  # the worker: never returns into the caller's frames, never flushes their buffers
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pickle.dumps(fn(shard), protocol=pickle.HIGHEST_PROTOCOL))
            code = 0
        finally:
            os._exit(code)
    return _Child(pid, fd)


def _temporary() -> int:
    """An unnamed temporary file, where the platform has no memfd."""
    import tempfile  # only there: it imports `random` and `shutil`

    with tempfile.TemporaryFile() as scratch:
        return os.dup(scratch.fileno())


def _collect(child: _Child) -> tuple[Any] | None:
    """The worker's result (in a 1-tuple), or None when it left none (failed, killed, truncated)."""
    import pickle

    if _wait(child.pid) != 0:
        return None
    with os.fdopen(child.fd, "rb", closefd=False) as scratch:
        try:
            scratch.seek(0)  # the worker's writes moved the offset both processes share
            return (pickle.load(scratch),)
        except Exception:
            return None


def _stop(child: _Child) -> None:
    import signal

    with contextlib.suppress(ProcessLookupError):  # reaped by someone else
        os.kill(child.pid, signal.SIGKILL)
    _wait(child.pid)
    os.close(child.fd)


def _wait(pid: int) -> int:
    """The worker's exit code; -1 when it cannot be known (another party reaped it)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return -1
    return os.waitstatus_to_exitcode(status)
