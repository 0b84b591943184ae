"""polyvox.core."""
