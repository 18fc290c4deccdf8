"""Generate an N-capability fleet (3 environments) from real corpus specs, plus equivalent Helm values.

The workload matches ../shared/research/peer-benchmark.md: per capability a spec ConfigMap,
Deployment, Service, HPA, PDB and ServiceMonitor, and for every third capability an Ingress.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "valid"
# Real specs with a control port and no imports, so every capability renders the same object kinds.
SPECS = [
    FIXTURES / "demo" / "capabilities" / "ping" / "ping.ikanos.yml",
    FIXTURES / "demo" / "capabilities" / "telemetry" / "telemetry.ikanos.yml",
    HERE / "specs" / "control-scripting.ikanos.yml",
]
PUBLIC = {0: "ping-rest", 1: None, 2: None}
ENVS = {
    "dev": "merge: {defaults: {class: dev}}",
    "staging": "merge: {routing: {ingress: {host: '{capability}.staging.example.com'}}}",
    "prod": "merge: {defaults: {class: premium}}",
}


def generate(root: Path, n: int, block: bool = False) -> Path:
    """With `block`, entries are block mappings that set what the roster reads (a class on each,
    `calls` on every fourth), the shape hand-written fleets have; otherwise one flow line each."""
    if root.exists():
        shutil.rmtree(root)
    (root / "environments").mkdir(parents=True)
    lines = [
        "apiVersion: fleet.naftiko.io/v1alpha1",
        "kind: Fleet",
        "metadata: {name: bench}",
        "spec:",
        "  namespace: bench",
        "  routing:",
        "    ingress: {api: ingress, className: nginx, host: '{capability}.example.com'}",
        "  capabilities:",
    ]
    for i in range(n):
        name = f"cap-{i:04d}"
        source = SPECS[i % len(SPECS)]
        target = root / "capabilities" / name / source.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        public = PUBLIC[i % 3] if i % 3 == 0 else None
        if block:
            lines += [f"    {name}:", f"      spec: capabilities/{name}/{source.name}", "      class: premium"]
            lines += [f"      calls: [cap-{i - 1:04d}]"] if i % 4 == 3 else []
            lines += ["      exposes:", f"        {public}: {{public: true}}"] if public else []
            continue
        entry = f"    {name}: {{spec: capabilities/{name}/{source.name}"
        if public:
            entry += f", exposes: {{{public}: {{public: true}}}}"
        lines.append(entry + "}")
    lines += ["  environments:", *(f"    {env}: environments/{env}.yaml" for env in ENVS)]
    (root / "naftiko.fleet.yaml").write_text("\n".join(lines) + "\n")
    for env, body in ENVS.items():
        (root / "environments" / f"{env}.yaml").write_text(
            f"apiVersion: fleet.naftiko.io/v1alpha1\nkind: Environment\nmetadata: {{name: {env}}}\n"
            f"spec:\n  namespace: bench-{env}\n  {body}\n"
        )
    return root


def helm_values(root: Path, env: str) -> Path:
    """Values for bench/helm-chart describing the same objects skipper renders for `env`."""
    classes = {
        "dev": ({"cpu": "50m", "memory": "64Mi"}, {"cpu": "100m", "memory": "128Mi"}, 1, 2),
        "standard": ({"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "512Mi"}, 1, 4),
        "premium": ({"cpu": "500m", "memory": "512Mi"}, {"cpu": "1", "memory": "1Gi"}, 2, 20),
    }
    klass = {"dev": "dev", "staging": "standard", "prod": "premium"}[env]
    requests, limits, low, high = classes[klass]
    caps = []
    for spec_dir in sorted((root / "capabilities").iterdir()):
        spec_file = next(spec_dir.iterdir())
        index = int(spec_dir.name.split("-")[1])
        caps.append(
            {
                "name": spec_dir.name,
                "spec": spec_file.read_text(),
                "public": index % 3 == 0,
                "ports": {
                    0: [["rest", 9610], ["skill", 9612], ["control", 9619]],
                    1: [["control", 9199]],
                    2: [["control", 9198]],
                }[index % 3],
            }
        )
    values = {
        "namespace": f"bench-{env}",
        "environment": env,
        "tier": klass,
        "requests": requests,
        "limits": limits,
        "minReplicas": low,
        "maxReplicas": high,
        "capabilities": caps,
    }
    path = root / f"helm-values-{env}.json"
    path.write_text(json.dumps(values))
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("-n", type=int, default=10)
    args = parser.parse_args()
    print(generate(args.root, args.n))
