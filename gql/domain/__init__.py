"""Business rules and services. Knows nothing of GraphQL or HTTP (see test_layering)."""
