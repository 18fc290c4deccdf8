"""Rendering in worker processes (`--jobs`) changes nothing but the time: every fixture renders the
same bytes, warnings and errors with shards in three processes as in one, and a worker that fails
is replaced by rendering its shard in process."""

from __future__ import annotations

import errno
import os
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, MINIMAL_SPEC
from hypothesis import given
from hypothesis import strategies as st

from skipper_render import RenderRequest, parallel, render_request
from skipper_render.cli import main
from skipper_render.errors import SkipperError, ValidationError
from skipper_render.render import environments
from skipper_render.spec import SpecReader
from skipper_render.workflows.tree import render_tree

CASES = sorted(p for kind in ("valid", "invalid") for p in (FIXTURES / kind).iterdir() if p.is_dir())


def _outcome(path: Path, env: str | None, jobs: int) -> tuple[str, ...]:
    try:
        result = render_request(RenderRequest(path, env, jobs=jobs))
    except SkipperError as exc:
        return ("error", *map(str, exc.diagnostics))
    json_result = render_request(RenderRequest(path, env, jobs=jobs, output="json"))
    return (result.to_yaml(), json_result.to_json(), *map(str, result.warnings))


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_renders_the_same_in_three_processes(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_SHARD", 1)  # shard even a fleet of two capabilities
    delivered: list[bool] = []  # per worker: did its result come back (else its shard ran here)
    collect = parallel._collect

    def counted(child: Any) -> Any:
        found = collect(child)
        delivered.append(found is not None)
        return found

    monkeypatch.setattr(parallel, "_collect", counted)
    try:
        envs: list[str | None] = [*sorted(environments(case))] or [None]
    except SkipperError:
        envs = [None]
    for env in envs:
        assert _outcome(case, env, 3) == _outcome(case, env, 1)
    assert all(delivered)  # a worker's result that does not pickle would silently serialize the render
    if case.name == "demo":  # both stages (specs read ahead, capabilities rendered) ran in workers
        assert len(delivered) >= 4 * len(envs)


def _fleet(root: Path, count: int, broken: frozenset[int] = frozenset(), missing: frozenset[int] = frozenset()) -> Path:
    """`count` capabilities sharing one spec; the `broken` ones each with a spec of their own that
    puts two exposes on one port, the `missing` ones naming the same file that does not exist."""
    (root / "capabilities").mkdir(parents=True)
    (root / "capabilities" / "hello.yml").write_text(MINIMAL_SPEC)
    for i in broken:
        (root / "capabilities" / f"broken-{i}.yml").write_text(MINIMAL_SPEC.replace("port: 9090", "port: 8080"))
    specs = {i: f"broken-{i}" for i in broken} | {i: "missing" for i in missing}
    entries = "".join(
        f"    cap-{i:03d}: {{spec: capabilities/{specs.get(i, 'hello')}.yml, class: dev}}\n" for i in range(count)
    )
    header = "apiVersion: fleet.naftiko.io/v1alpha1\nkind: Fleet\nmetadata: {name: many}\n"
    (root / "naftiko.fleet.yaml").write_text(f"{header}spec:\n  namespace: many\n  capabilities:\n{entries}")
    return root


def test_errors_in_several_shards_are_the_ones_a_serial_render_reports(tmp_path: Path) -> None:
    # Errors in both shards of both stages, and one missing file named by two entries in two shards:
    # each entry's error points at its own line, as when one process reads the file twice.
    fleet = _fleet(tmp_path, 240, broken=frozenset({3, 119, 200, 239}), missing=frozenset({5, 230}))
    assert parallel.workers(3, 240) == 2
    serial, sharded = _outcome(fleet, None, 1), _outcome(fleet, None, 3)
    assert sharded == serial
    assert serial[0] == "error" and len(serial) == 1 + 4 + 2
    assert sum("naftiko.fleet.yaml" in line and "missing.yml" in line for line in serial) == 2


def test_a_spec_read_ahead_serves_only_the_capability_it_was_read_for(tmp_path: Path) -> None:
    """A capability with an unknown class reads no spec; the next one naming the same file must
    report a problem with it at its own entry, not at the first one's."""
    fleet = _fleet(tmp_path, 240)
    manifest = fleet / "naftiko.fleet.yaml"
    manifest.write_text(
        manifest.read_text()
        + "    zz-a: {spec: capabilities/gone.yml, class: typo}\n    zz-b: {spec: capabilities/gone.yml, class: dev}\n"
    )
    serial = _outcome(fleet, None, 1)
    assert _outcome(fleet, None, 2) == serial
    assert [line for line in serial if "gone.yml" in line] == [
        "naftiko.fleet.yaml:248:12: capabilities.zz-b.spec: file not found: capabilities/gone.yml"
    ]


def test_a_worker_that_dies_is_replaced_by_rendering_its_shard_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = _fleet(tmp_path, 200)
    expected = render_request(RenderRequest(fleet, None)).to_yaml()
    parent = os.getpid()
    render_module = __import__("sys").modules["skipper_render.render"]
    real = render_module._capability_shard

    rendered_here: list[int] = []

    def dying(caps: Sequence[Any], **kwargs: Any) -> Any:
        if os.getpid() != parent:
            os._exit(3)
        rendered_here.append(len(caps))
        return real(caps, **kwargs)

    monkeypatch.setattr(render_module, "_capability_shard", dying)
    assert render_request(RenderRequest(fleet, None, jobs=2)).to_yaml() == expected
    assert rendered_here == [100, 100]  # its own shard, then the dead worker's


def _pid(shard: Sequence[int]) -> list[tuple[int, int]]:
    return [(item, os.getpid()) for item in shard]


def test_shards_run_in_other_processes_and_come_back_in_order() -> None:
    results = parallel.map_shards(_pid, range(400), 4)
    assert [item for shard in results for item, _ in shard] == list(range(400))
    pids = [{pid for _, pid in shard} for shard in results]
    assert pids[0] == {os.getpid()} and len(set().union(*pids)) == 4
    with pytest.raises(ChildProcessError):  # every worker was waited for
        os.waitpid(-1, os.WNOHANG)


def test_without_memfd_results_come_back_through_a_temporary_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where `memfd_create` does not exist (macOS), an unnamed temporary file carries the result."""
    monkeypatch.delattr(os, "memfd_create")
    open_files = len(os.listdir("/proc/self/fd"))
    results = parallel.map_shards(_pid, range(300), 3)
    assert [item for shard in results for item, _ in shard] == list(range(300))
    assert len({pid for shard in results for _, pid in shard}) == 3
    assert len(os.listdir("/proc/self/fd")) == open_files


def test_when_no_worker_can_start_every_shard_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    open_files = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", no_fork)
    results = parallel.map_shards(_pid, range(300), 3)
    assert [item for shard in results for item, _ in shard] == list(range(300))
    assert {pid for shard in results for _, pid in shard} == {os.getpid()}
    assert len(os.listdir("/proc/self/fd")) == open_files  # no scratch file left open


def test_a_failure_here_stops_and_reaps_the_workers() -> None:
    parent = os.getpid()

    def fail_here(shard: Sequence[int]) -> list[int]:
        if os.getpid() == parent:
            raise RuntimeError("boom")
        return list(shard)

    with pytest.raises(RuntimeError, match="boom"):
        parallel.map_shards(fail_here, range(300), 3)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_one_process_when_asked_when_small_or_when_threads_run() -> None:
    assert parallel.workers(1, 10_000) == 1
    assert parallel.workers(4, parallel.MIN_SHARD * 2 - 1) == 1
    assert parallel.workers(4, parallel.MIN_SHARD * 10) == 4
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:  # forking a process with threads can copy a lock another thread holds
        assert parallel.workers(4, parallel.MIN_SHARD * 10) == 1
    finally:
        stop.set()
        thread.join()


def test_no_worker_when_sigchld_is_ignored() -> None:
    """With SIGCHLD ignored (inherited across exec), the kernel reaps workers before their exit
    code can be read: render in process."""
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert parallel.workers(4, parallel.MIN_SHARD * 10) == 1
        assert parallel.map_shards(_pid, range(400), 4) == [_pid(range(400))]
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert parallel.workers(4, parallel.MIN_SHARD * 10) == 4


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=1, max_value=9))
def test_split_keeps_order_and_evens_lengths(items: list[int], parts: int) -> None:
    shards = parallel.split(items, parts)
    assert len(shards) == parts
    assert [x for shard in shards for x in shard] == items
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"a/b": "150000 100000\n"}, 2),  # 1.5 CPUs: 2 workers
        ({"a/b": "100000 100000"}, 1),
        ({"a/b": "max 100000", "a": "300000 100000"}, 3),  # the parent's quota holds for its children
        ({"a/b": "200000 100000", "a": "400000 100000"}, 2),  # the smallest on the way up
        ({"": "100000 100000"}, 1),  # a namespaced container sees its own cgroup as the root
        ({"a/b": "max 100000"}, 16),
        ({"a/b": "garbage"}, 16),
        ({}, 16),
    ],
)
def test_usable_cpus_follows_the_cgroup_quotas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: dict[str, str], expected: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)))
    for where, line in limits.items():
        (tmp_path / where).mkdir(parents=True, exist_ok=True)
        (tmp_path / where / "cpu.max").write_text(line)
    membership = tmp_path / "cgroup"
    membership.write_text("1:cpu:/\n0::/a/b\n")
    assert parallel.usable_cpus(str(tmp_path), str(membership)) == expected
    assert parallel.usable_cpus(str(tmp_path), str(tmp_path / "no-such-file")) == 16  # no cgroup v2


def test_jobs_setting_of_the_plugins() -> None:
    assert parallel.jobs_setting(None, "SKIPPER_JOBS") == 0
    assert parallel.jobs_setting("", "SKIPPER_JOBS") == 0
    assert parallel.jobs_setting("3", "SKIPPER_JOBS") == 3
    for bad in ("-1", "two", "٣"):
        with pytest.raises(ValidationError, match="SKIPPER_JOBS must be a whole number"):
            parallel.jobs_setting(bad, "SKIPPER_JOBS")


def test_cli_jobs_option_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = _fleet(tmp_path, 3)
    asked: list[int] = []  # the jobs each render passed on
    map_shards = parallel.map_shards

    def recorded(fn: Any, items: Sequence[Any], jobs: int) -> Any:
        asked.append(jobs)
        return map_shards(fn, items, jobs)

    monkeypatch.setattr(parallel, "map_shards", recorded)
    runner = CliRunner()
    one = runner.invoke(main, ["render", str(fleet), "--jobs", "1"])
    auto = runner.invoke(main, ["render", str(fleet)], env={"SKIPPER_JOBS": "0"})
    assert one.exit_code == auto.exit_code == 0 and one.stdout == auto.stdout
    assert asked == [1, 0]
    bad = runner.invoke(main, ["render", str(fleet)], env={"SKIPPER_JOBS": "x"})
    assert bad.exit_code == 2 and "'--jobs'" in bad.output
    assert runner.invoke(main, ["validate", str(fleet), "-j", "3"]).exit_code == 0
    rendered = tmp_path / "rendered"
    assert runner.invoke(main, ["render", str(fleet), "-j", "1", "--output-dir", str(rendered)]).exit_code == 0
    asked.clear()
    same = runner.invoke(main, ["diff", str(fleet), "--against", str(rendered), "-j", "2", "--exit-code"])
    assert same.exit_code == 0, same.output
    assert asked == [2]


def test_every_environment_reads_each_spec_once_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`render --all-envs`: the first render reads the specs ahead in workers, the others find them
    in the shared cache and start no worker to read them again."""
    monkeypatch.setattr(parallel, "MIN_SHARD", 1)
    reads: list[int] = []  # per render: the workers that read specs ahead
    fork = parallel._fork

    def counted(fn: Callable[[Sequence[object]], object], shard: Sequence[object]) -> object:
        if getattr(fn, "__name__", "") == "_read_shard":
            reads[-1] += 1
        return fork(fn, shard)

    prefetch = SpecReader.prefetch

    def per_render(reader: SpecReader, wanted: Any, jobs: int) -> None:
        reads.append(0)
        prefetch(reader, wanted, jobs)

    monkeypatch.setattr(parallel, "_fork", counted)
    monkeypatch.setattr(SpecReader, "prefetch", per_render)
    demo = FIXTURES / "valid" / "demo"
    sharded = render_tree(RenderRequest(demo, None, jobs=3))
    assert len(reads) > 2 and reads[0] == 2 and not any(reads[1:])  # jobs=3: two workers, first render only
    assert sharded == render_tree(RenderRequest(demo, None, jobs=1))
