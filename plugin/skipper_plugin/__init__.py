"""skipper-render's thin plugin layer: the Argo CD CMP entry, the KRM function / kustomize exec
plugin and the Flux objects. It imports the engine (`skipper_render`); the engine never imports it.
"""
