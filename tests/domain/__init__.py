"""Domain tests: rules as plain functions, and services on the database, without GraphQL."""
