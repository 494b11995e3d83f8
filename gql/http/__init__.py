"""The path of an HTTP request, one module per step. gql/app.py lists the middlewares in
the order a request passes them:

1. limits.py      security headers on every answer; bodies over the limit refused (413);
                  multipart uploads without a token refused (401)
2. (gql/unavailable.py) the database down or its pool exhausted: 503, not 500
3. database.py    one database session per request
4. (gql/auth/backend.py) the bearer token's actor and its session check; for portal
                  users' GraphQL POSTs with a known session the check is left to step 5
5. view.py        the GraphQL view: GraphQL over HTTP, persisted.py (a hash to its
                  text), plans.py (the session check in the plan's statement, or alone;
                  the plan), then the executor
"""
