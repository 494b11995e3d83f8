"""Processes of orders and requests (seed 003 "Prozesse transparent machen"): staff keep
them, customers follow the kinds and steps their portal shares, and are told by mail
when a shared step is done (gql.domain.processes; rows in gql.domain.scope)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.demo import demo_id
from db.portal_settings import SharedProcess
from gql.domain import processes
from gql.domain.errors import InvalidInput
from tests.conftest import ACTORS, GraphQLClient, global_id

PROCESS_ID = demo_id("process:musterstadt:meter-change")
PROCESS = global_id("Process", PROCESS_ID)
ORDER = global_id("Order", demo_id("order:musterstadt:0"))


def step_id(key: str) -> uuid.UUID:
    return demo_id(f"process-step:musterstadt:meter-change:{key}")


def step(key: str) -> str:
    return global_id("ProcessStep", step_id(key))


MINE = """{ viewer { contact { processes { id kind title status
  currentStep { key } steps { key title status plannedFor doneAt } } } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename
  ... on Process { title } ... on ProcessStep { key } } }"""
ORDER_PROCESSES = """query($id: ID!) { node(id: $id) { ... on Order {
  processes { title steps { key } } } } }"""
START = """mutation($input: StartProcessInput!) { startProcess(input: $input) {
  __typename ... on ProcessPayload { process { kind title status steps { key status } } }
  ... on MutationError { code field message } } }"""
UPDATE = """mutation($input: UpdateProcessStepInput!) { updateProcessStep(input: $input) {
  __typename ... on ProcessStepPayload { step { key status doneAt plannedFor }
    process { status } }
  ... on MutationError { code field message } } }"""
CANCEL = """mutation($id: ID!) { cancelProcess(input: {processId: $id}) {
  __typename ... on ProcessPayload { process { status } }
  ... on MutationError { code field message } } }"""


async def one(gql: GraphQLClient, query: str, actor: str, **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def share(session: AsyncSession, *shared: SharedProcess) -> None:
    """The customer portal's published settings share exactly `shared`."""
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"processes": list(shared)}
    )
    await session.flush()


async def mine(gql: GraphQLClient) -> list[dict[str, Any]]:
    """Anna's processes as the portal shows them."""
    processes: list[dict[str, Any]] = (await one(gql, MINE, "customer"))["contact"]["processes"]
    return processes


async def process_mails(session: AsyncSession) -> list[models.OutboundEmail]:
    mail = models.OutboundEmail
    rows = await session.scalars(
        sa.select(mail).where(mail.kind == "process_step_done").order_by(mail.recipient)
    )
    return list(rows)


# --- What customers see --------------------------------------------------------------------


async def test_a_customer_follows_the_shared_steps_of_her_process(gql: GraphQLClient) -> None:
    [process] = await mine(gql)
    assert process["title"] == "Zählerwechsel Strom"
    assert process["status"] == "OPEN"
    assert process["currentStep"] == {"key": "meter_exchange"}
    # The internal technical review is not shared with customers.
    assert [s["key"] for s in process["steps"]] == [
        "order_received",
        "appointment_set",
        "meter_exchange",
        "final_reading",
    ]
    exchange = process["steps"][2]
    assert exchange["status"] == "IN_PROGRESS"
    assert exchange["plannedFor"] == "2026-12-02"
    assert process["steps"][0]["doneAt"].startswith("2026-11-03")


async def test_an_unshared_step_is_nothing_to_the_customer_even_by_id(
    gql: GraphQLClient,
) -> None:
    assert await one(gql, NODE, "customer", id=step("technical_review")) is None
    assert await one(gql, NODE, "customer", id=step("meter_exchange")) == {
        "__typename": "ProcessStep",
        "key": "meter_exchange",
    }
    assert await one(gql, NODE, "agent", id=step("technical_review")) == {
        "__typename": "ProcessStep",
        "key": "technical_review",
    }


async def test_every_step_shows_when_the_portal_shares_the_kind_without_a_step_list(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await share(session, SharedProcess(kind="meter_change"))
    assert len((await mine(gql))[0]["steps"]) == 5


async def test_without_dates_the_customer_sees_the_steps_but_no_dates(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await share(session, SharedProcess(kind="meter_change", show_dates=False))
    steps = (await mine(gql))[0]["steps"]
    assert {(s["plannedFor"], s["doneAt"]) for s in steps} == {(None, None)}
    agent_view = await one(
        gql, NODE.replace("title", "title steps { doneAt }"), "agent", id=PROCESS
    )
    assert agent_view is not None


async def test_a_kind_the_portal_does_not_share_is_nothing_to_the_customer(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await share(session, SharedProcess(kind="house_connection"))
    assert await mine(gql) == []
    assert await one(gql, NODE, "customer", id=PROCESS) is None
    assert await one(gql, NODE, "customer", id=step("order_received")) is None
    order = await one(gql, ORDER_PROCESSES, "customer", id=ORDER)
    assert order == {"processes": []}


async def test_staff_share_a_kind_through_the_settings_and_publish_it(
    gql: GraphQLClient,
) -> None:
    update = """mutation($input: UpdatePortalSettingsInput!) { updatePortalSettings(input: $input) {
      __typename ... on MutationError { code field } } }"""
    publish = """mutation($id: ID!) { publishPortal(input: {id: $id}) { __typename } }"""
    portal = global_id("Portal", ACTORS["customer"].portal_id)  # type: ignore[arg-type]
    changes = {"processes": [{"kind": "meter_change", "steps": ["meter_exchange"]}]}
    assert await one(gql, update, "admin", input={"id": portal, "changes": changes}) == {
        "__typename": "PortalPayload"
    }
    # A draft changes nothing for customers until it is published.
    assert len((await mine(gql))[0]["steps"]) == 4
    await one(gql, publish, "admin", id=portal)
    assert [s["key"] for s in (await mine(gql))[0]["steps"]] == ["meter_exchange"]


@pytest.mark.parametrize(
    "actor", ["other_customer", "other_org_customer", "installer", "anonymous", "other_admin"]
)
async def test_others_get_nothing_of_a_customers_process(gql: GraphQLClient, actor: str) -> None:
    assert await one(gql, NODE, actor, id=PROCESS) is None
    assert await one(gql, NODE, actor, id=step("meter_exchange")) is None


async def test_staff_see_every_step_of_the_order(gql: GraphQLClient) -> None:
    order = await one(gql, ORDER_PROCESSES, "agent", id=ORDER)
    assert [s["key"] for s in order["processes"][0]["steps"]][1] == "technical_review"


# --- What staff do -------------------------------------------------------------------------


def started(**over: Any) -> dict[str, Any]:
    return {
        "orderId": ORDER,
        "kind": "house_connection",
        "title": "Hausanschluss Gartenhaus",
        "steps": [
            {"key": "request_received", "title": "Anfrage eingegangen"},
            {"key": "site_visit", "title": "Vor-Ort-Termin", "plannedFor": "2026-12-10"},
            {"key": "installation", "title": "Installation"},
        ],
        **over,
    }


async def test_staff_start_a_process_and_it_is_audited(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    result = await one(gql, START, "agent", input=started())
    assert result["process"] == {
        "kind": "house_connection",
        "title": "Hausanschluss Gartenhaus",
        "status": "OPEN",
        "steps": [
            {"key": "request_received", "status": "PENDING"},
            {"key": "site_visit", "status": "PENDING"},
            {"key": "installation", "status": "PENDING"},
        ],
    }
    event = models.AuditEvent
    actions = await session.scalars(
        sa.select(event.action).where(event.action == "process.started")
    )
    assert actions.all() == ["process.started"]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"kind": "Hausanschluss!"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"steps": []}, "steps"),
        ({"steps": [{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]}, "steps"),
        ({"steps": [{"key": "1st", "title": "A"}]}, "steps"),
        ({"steps": [{"key": "a", "title": " "}]}, "steps"),
        ({"steps": [{"key": f"s{i}", "title": "S"} for i in range(51)]}, "steps"),
        ({"title": "   "}, "title"),
        ({"contactId": global_id("Contact", demo_id("contact:musterstadt:c00"))}, "orderId"),
    ],
)
async def test_a_malformed_process_is_refused_naming_the_input(
    gql: GraphQLClient, over: dict[str, Any], field: str
) -> None:
    result = await one(gql, START, "agent", input=started(**over))
    assert result["__typename"] == "MutationError"
    assert (result["code"], result["field"]) == ("INVALID_INPUT", field)
    assert result["message"]


async def test_a_process_on_another_organizations_order_is_not_found(gql: GraphQLClient) -> None:
    result = await one(gql, START, "other_admin", input=started())
    assert (result["code"], result["field"]) == ("NOT_FOUND", "orderId")


@pytest.mark.parametrize("actor", ["customer", "installer", "anonymous"])
async def test_only_staff_change_processes(gql: GraphQLClient, actor: str) -> None:
    data, errors = await gql(
        UPDATE, actor, input={"stepId": step("meter_exchange"), "status": "DONE"}
    )
    assert data == {"updateProcessStep": None}
    assert errors


async def test_a_shared_step_done_tells_the_customer_by_mail_in_her_language(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    result = await one(
        gql, UPDATE, "agent", input={"stepId": step("meter_exchange"), "status": "DONE"}
    )
    assert result["step"]["status"] == "DONE"
    assert result["step"]["doneAt"] is not None
    assert result["process"]["status"] == "OPEN"
    [mail] = await process_mails(session)
    assert mail.recipient == "anna.becker@example.org"
    assert mail.status is models.EmailStatus.PENDING
    assert mail.subject == "Zählerwechsel Strom: Zählerwechsel vor Ort erledigt"
    assert "Als Nächstes: Schlussablesung und Abrechnung." in mail.body_text
    # The link names the process by its GraphQL ID, which the page asks `node` for.
    assert f"/processes/{quote(PROCESS, safe='')}" in mail.body_text


@pytest.mark.parametrize(
    "sharing",
    [
        SharedProcess(kind="meter_change", steps=["order_received"]),
        SharedProcess(kind="meter_change", notify_on_step_done=False),
        SharedProcess(kind="house_connection"),
    ],
)
async def test_no_mail_for_a_step_the_portal_does_not_show_or_announce(
    gql: GraphQLClient, session: AsyncSession, sharing: SharedProcess
) -> None:
    await share(session, sharing)
    await one(gql, UPDATE, "agent", input={"stepId": step("meter_exchange"), "status": "DONE"})
    assert await process_mails(session) == []


async def test_the_process_is_done_when_every_step_is_done_or_skipped(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await one(gql, UPDATE, "agent", input={"stepId": step("meter_exchange"), "status": "DONE"})
    last = await one(
        gql, UPDATE, "agent", input={"stepId": step("final_reading"), "status": "SKIPPED"}
    )
    assert last["process"]["status"] == "DONE"
    # Reopened, it is under way again; the step forgets when it was done.
    again = await one(
        gql, UPDATE, "agent", input={"stepId": step("meter_exchange"), "status": "IN_PROGRESS"}
    )
    assert again["process"]["status"] == "OPEN"
    assert again["step"]["doneAt"] is None


async def test_plans_move_and_clear(gql: GraphQLClient) -> None:
    moved = await one(
        gql, UPDATE, "agent", input={"stepId": step("final_reading"), "plannedFor": "2027-01-15"}
    )
    assert moved["step"]["plannedFor"] == "2027-01-15"
    assert moved["step"]["status"] == "PENDING"
    cleared = await one(
        gql, UPDATE, "agent", input={"stepId": step("final_reading"), "clearPlannedFor": True}
    )
    assert cleared["step"]["plannedFor"] is None


async def test_a_cancelled_process_stays_as_it_is(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    assert (await one(gql, CANCEL, "agent", id=PROCESS))["process"] == {"status": "CANCELLED"}
    refused = await one(
        gql, UPDATE, "agent", input={"stepId": step("meter_exchange"), "status": "DONE"}
    )
    assert (refused["code"], refused["field"]) == ("RULE_VIOLATED", "stepId")
    again = await one(gql, CANCEL, "agent", id=PROCESS)
    assert again["code"] == "RULE_VIOLATED"
    assert await process_mails(session) == []


async def test_another_organizations_staff_change_nothing(gql: GraphQLClient) -> None:
    refused = await one(
        gql, UPDATE, "other_admin", input={"stepId": step("meter_exchange"), "status": "DONE"}
    )
    assert (refused["code"], refused["field"]) == ("NOT_FOUND", "stepId")
    assert (await one(gql, CANCEL, "other_admin", id=PROCESS))["code"] == "NOT_FOUND"


# --- The rule, without GraphQL ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["DONE", "SKIPPED"], "DONE"),
        (["DONE", "PENDING"], "OPEN"),
        (["IN_PROGRESS"], "OPEN"),
        (["SKIPPED"], "DONE"),
    ],
)
def test_a_process_is_done_when_nothing_is_left(statuses: list[str], expected: str) -> None:
    steps = [
        models.ProcessStep(
            status=models.ProcessStepStatus(status),
            done_at=datetime.now(UTC) if status == "DONE" else None,
        )
        for status in statuses
    ]
    assert processes.overall(steps) is models.ProcessStatus(expected)


@pytest.mark.parametrize("value", ["a", "house_connection", "x" * 60, "s1_b2"])
def test_keys_that_settings_can_name(value: str) -> None:
    assert processes.key(value, field="kind") == value


@pytest.mark.parametrize("value", ["", "A", "1a", "a-b", "a b", "x" * 61, "ä"])
def test_keys_that_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        processes.key(value, field="kind")
