"""The environment's Namespace, in the fleet-level part.

Neither Flux's kustomize-controller nor a plain `kubectl apply` creates namespaces, and Argo CD's
`CreateNamespace=true` creates one without labels; the fleet part renders it, labelled for Pod
Security admission. Deleting it would delete every workload in it, so GitOps tools are told never
to prune or delete it (`argocd.argoproj.io/sync-options: Prune=false,Delete=false`, Flux's
`kustomize.toolkit.fluxcd.io/prune: disabled`): removing an environment is a human's decision.

Pod Security: `restricted` is enforced without a mesh. A mesh's init container needs NET_ADMIN,
which no Pod Security level but `privileged` admits, unless the mesh's CNI plugin (istio-cni,
linkerd-cni, consul-cni) does that work: with a mesh, `restricted` is only warned and audited.
"""

from __future__ import annotations

from skipper_render import names
from skipper_render.generators.base import Context, Obj

PSA = "pod-security.kubernetes.io"


def generate(ctx: Context) -> list[Obj]:
    fleet = ctx.fleet
    modes = ("warn", "audit") if fleet.spec.routing.mesh != "none" else ("enforce", "warn", "audit")
    labels = {**names.fleet_labels(fleet, "namespace"), **{f"{PSA}/{mode}": "restricted" for mode in modes}}
    annotations = {
        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
        "kustomize.toolkit.fluxcd.io/prune": "disabled",
    }
    metadata = {"name": fleet.namespace, "labels": labels, "annotations": annotations}
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}]
