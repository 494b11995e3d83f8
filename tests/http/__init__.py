"""HTTP tests: requests through the ASGI app (the `client` fixture), or `portal serve` as a
subprocess; what a client sees (status codes, headers, tokens, uploads, mails)."""
