"""Integrations: Argo CD plugin, KRM function / kustomize exec plugin, Flux objects."""
