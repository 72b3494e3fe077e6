"""cargohold: an enterprise container image registry."""
