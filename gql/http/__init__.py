"""The path of an HTTP request, one module per step. gql/app.py lists the steps once, in
the order a request passes them (the numbers there):

1.-3. limits.py  security headers on every answer; bodies over the limit refused (413);
                 multipart uploads without a token refused (401)
4. gql/unavailable.py  the database down or its pool exhausted: 503, not 500
5. database.py   one database session per request, opened when first needed
6. gql/auth/backend.py  the bearer token's actor and its session check; for a portal
                 user's GraphQL POST with a known session the check is left to step 7
7. view.py       the GraphQL view: GraphQL over HTTP, persisted.py (a hash to its text),
                 plans.py (the session check in the plan's statement, or alone; the
                 plan), then the executor
"""
