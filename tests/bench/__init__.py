"""Figures under load: the short soak (`make soak` runs the long one)."""
