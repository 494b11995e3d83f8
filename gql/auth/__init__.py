"""Authentication (who is calling) and field permissions (what they may read)."""
