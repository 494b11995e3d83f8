"""What a process page shows, as plain functions both engines call (the executor's
resolvers and the query plans' computations, gql/schema/processes.py): the step a
process is at, and who is told the steps' dates."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from db.models.enums import ProcessStepStatus
from db.portal_settings import SharedProcess
from gql.auth.actor import Actor, Role
from gql.domain import processes

DONE, SKIPPED = ProcessStepStatus.DONE, ProcessStepStatus.SKIPPED
PENDING, IN_PROGRESS = ProcessStepStatus.PENDING, ProcessStepStatus.IN_PROGRESS


@dataclass(frozen=True)
class Step:
    key: str
    status: ProcessStepStatus


@pytest.mark.parametrize(
    ("statuses", "current"),
    [
        ([], None),
        ([DONE, SKIPPED], None),  # nothing left
        ([PENDING, PENDING], 0),
        ([DONE, IN_PROGRESS, PENDING], 1),
        ([DONE, SKIPPED, PENDING], 2),  # skipped counts as finished
        ([DONE, PENDING, DONE], 1),  # the first unfinished, not the last
    ],
)
def test_current_step_is_the_first_neither_done_nor_skipped(
    statuses: list[ProcessStepStatus], current: int | None
) -> None:
    steps = [Step(f"s{n}", status) for n, status in enumerate(statuses)]
    found = processes.current_step(steps)
    assert found is (None if current is None else steps[current])


STAFF = Actor(Role.AGENT)
CUSTOMER = Actor(Role.CUSTOMER)
INSTALLER = Actor(Role.INSTALLER)


@pytest.mark.parametrize(
    ("actor", "sharing", "shown"),
    [
        (STAFF, None, True),
        (STAFF, SharedProcess(kind="k", show_dates=False), True),
        (CUSTOMER, SharedProcess(kind="k"), True),  # dates are shown unless said
        (CUSTOMER, SharedProcess(kind="k", show_dates=False), False),
        (CUSTOMER, None, False),  # not shared
        (INSTALLER, SharedProcess(kind="k", steps=[]), True),
        (INSTALLER, None, False),
    ],
)
def test_dates_show_to_staff_and_to_portal_users_whose_portal_shares_them(
    actor: Actor, sharing: SharedProcess | None, shown: bool
) -> None:
    assert processes.shows_dates(actor, sharing) is shown
