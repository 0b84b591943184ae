"""polyvox.cli."""
