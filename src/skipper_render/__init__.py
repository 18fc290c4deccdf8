"""skipper-render: the GitOps render engine for Naftiko capability fleets."""
