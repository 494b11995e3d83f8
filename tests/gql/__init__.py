"""GraphQL tests: operations through `schema.execute` (the `gql` fixture), as each actor."""
