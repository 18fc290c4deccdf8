"""Workflows beside the render pipeline: they call `render()` as any user would.

promote / lock (version pins), failover, review diffs, kubectl operations, Warden bundles.
"""
