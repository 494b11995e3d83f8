"""Benchmarks that print figures (`make bench`, `make bench-import`)."""
