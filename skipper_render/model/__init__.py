"""Models of the fleet manifest, environment overlay, CapabilityClass and ikanos spec."""
