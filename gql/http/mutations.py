"""The mutations whose session check rides the row they lock (gql/domain/session_check.py):
which requests are such a mutation.

A mutation may take the check only if the first statement of its work is one the check
can ride (`scope.OneVisible`: `scope.locked_visible` locking the row it changes, or
`submitMeterReading`'s meter with its facts): then nothing is read before the session is
checked but in the check's own statement, and nothing of the answer decided before the
check has settled. `tests/http/test_mutation_statements.py` asserts the check rides the
first statement of each.
"""

from __future__ import annotations

import functools

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

# Root fields of Mutation whose work's first statement carries the check (above).
LOCKING_FIRST = frozenset({"submitMeterReading", "changeInstallment"})


@functools.lru_cache(maxsize=256)
def locks_first(query: str, operation_name: str | None) -> bool:
    """Whether the operation of `query` is one field of LOCKING_FIRST, without
    directives (what else would run before its lock is not known)."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        operation
        for operation in operations
        if operation_name is None
        or (operation.name is not None and operation.name.value == operation_name)
    ]
    if len(chosen) != 1 or (operation_name is None and len(operations) != 1):
        return False
    operation = chosen[0]
    if operation.operation is not OperationType.MUTATION or operation.directives:
        return False
    fields = operation.selection_set.selections
    return (
        len(fields) == 1
        and isinstance(fields[0], FieldNode)
        and not fields[0].directives
        and fields[0].name.value in LOCKING_FIRST
    )
