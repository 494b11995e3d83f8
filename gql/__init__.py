"""The GraphQL service: schema, resolvers, authentication and the domain services."""
