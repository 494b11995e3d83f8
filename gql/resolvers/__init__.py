"""Thin resolvers: arguments in, loaders or services called, rows out."""
