"""Staff make offers (`createOffer`): who may, the limits (validity, line items), the
numbering per organization, the audit event and the NEW_OFFER mail through the outbox
to the SMTP sink; customers see an offer only if they may see its contract, and can not
accept it once it expired (`respondToOffer`)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from db import models
from db.session import create_engine
from gql import delivery
from gql.auth.actor import Visibility
from gql.domain import offers
from gql.domain.errors import InvalidInput
from tests.conftest import ACTORS, GraphQLClient, contact_id, global_id
from tests.smtp import SmtpServer
from tests.statement_helpers import counting_statements

# Transaction control (the test's savepoints stand for the server's BEGIN/COMMIT).
CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE|BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)

CREATE = """mutation($input: CreateOfferInput!) { createOffer(input: $input) {
  __typename
  ... on OfferCreated { order { id number title status totalAmount offerValidUntil description
    contract { number } lineItems { position name quantity unit unitPriceNet vatRate } } }
  ... on MutationError { code message field detail parameters { name value } } } }"""
RESPOND = """mutation($id: ID!) { respondToOffer(input: {orderId: $id, accept: true}) {
  __typename ... on OfferAnswered { order { status } }
  ... on MutationError { code message field parameters { name value } } } }"""
ORDER = """query($id: ID!) { node(id: $id) { ... on Order { number lineItems { name } } } }"""
ANNA = contact_id("musterstadt", "c00")
ITEM = {
    "name": "Zählerwechsel",
    "quantity": "2",
    "unit": "Stk",
    "unitPriceNet": "120.00",
    "vatRate": "19",
}


def today() -> date:
    return offers.today(datetime.now(UTC))


def offer_input(**change: Any) -> dict[str, Any]:
    return {
        "contactId": global_id("Contact", ANNA),
        "title": "Zählerwechsel auf Smart Meter",
        "description": "Tausch beider Zähler.",
        "lineItems": [ITEM],
        "validUntil": (today() + timedelta(days=30)).isoformat(),
        **change,
    }


async def run(gql: GraphQLClient, actor: Any, **variables: Any) -> Any:
    data, errors = await gql(CREATE, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return data["createOffer"]


async def anna_contract(session: AsyncSession) -> models.Contract:
    contract = await session.scalar(
        sa.select(models.Contract)
        .where(models.Contract.contact_id == ANNA)
        .order_by(models.Contract.number)
        .limit(1)
    )
    assert contract is not None
    return contract


async def test_an_agent_makes_an_offer_numbered_audited_and_mailed(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract = await anna_contract(session)
    made = await run(gql, "agent", input=offer_input(contractId=global_id("Contract", contract.id)))
    order = made["order"]
    year = today().year
    assert order["number"].startswith(f"A-{year}-")
    assert (order["status"], order["totalAmount"]) == ("OFFER", "285.60")
    assert order["contract"] == {"number": contract.number}
    assert order["lineItems"] == [
        {
            "position": 0,
            "name": "Zählerwechsel",
            "quantity": "2.000",
            "unit": "Stk",
            "unitPriceNet": "120.00",
            "vatRate": "19.00",
        }
    ]
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "order.offer_created")
    )
    assert event is not None
    assert event.data["total_net"] == "240.00"
    outbox = models.OutboundEmail
    [sent] = (await session.scalars(sa.select(outbox).where(outbox.kind == "new_offer"))).all()
    assert sent.recipient == "anna.becker@example.org"
    assert sent.subject == f"Ihr Angebot {order['number']}: Zählerwechsel auf Smart Meter"
    assert "2 Stk Zählerwechsel: 240.00 EUR + 19 %" in sent.body_text
    assert "285.60 EUR" in sent.body_text
    # Its link opens the portal's page where offers are answered (login first).
    assert re.search(r"https://\S+/portal/changes\n", sent.body_text)
    assert re.search(r'href="https://\S+/portal/changes"', sent.body_html)
    # The customer sees it with its lines; another customer and another organization not.
    seen, _ = await gql(ORDER, "customer", id=order["id"])
    assert seen == {"node": {"number": order["number"], "lineItems": [{"name": "Zählerwechsel"}]}}
    for stranger in ("other_customer", "other_org_customer", "other_admin", "installer"):
        data, _ = await gql(ORDER, stranger, id=order["id"])
        assert data == {"node": None}, stranger


async def test_offer_numbers_count_up_per_organization_and_year(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    first = await run(gql, "agent", input=offer_input())
    second = await run(gql, "admin", input=offer_input())
    year, n = first["order"]["number"].rsplit("-", 1)
    assert second["order"]["number"] == f"{year}-{int(n) + 1}"
    # Another organization counts on its own.
    other = models.Organization
    nachbar = ACTORS["other_admin"].organization_id
    assert nachbar is not None
    assert await session.get(other, nachbar) is not None
    taken = await offers.next_number(session, nachbar, today().year)
    assert taken == f"A-{today().year}-1"


async def test_concurrent_offers_never_share_a_number(database_url: str) -> None:
    """Transactions on their own connections take numbers at once: each waits for the
    row lock of the one before and continues after it."""
    organization = ACTORS["admin"].organization_id
    assert organization is not None
    year = 2099  # a year of its own, so the committed counter touches nobody's
    engine = create_engine(database_url, pool_size=3)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def take() -> str:
        async with sessions() as db, db.begin():
            number = await offers.next_number(db, organization, year)
            await asyncio.sleep(0.05)  # hold the lock while the others ask
            return number

    try:
        numbers = await asyncio.gather(take(), take(), take())
        assert sorted(numbers) == [f"A-{year}-1", f"A-{year}-2", f"A-{year}-3"]
    finally:
        async with sessions() as db, db.begin():
            await db.execute(sa.delete(models.OfferNumber).where(models.OfferNumber.year == year))
        await engine.dispose()


@pytest.mark.parametrize(
    ("days", "refused"),
    [(-1, True), (0, False), (365, False), (366, True)],
)
def test_the_validity_runs_from_today_to_365_days_ahead(days: int, refused: bool) -> None:
    day = date(2026, 12, 3)
    valid_until = day + timedelta(days=days)
    if not refused:
        assert offers.check_valid_until(valid_until, day) == valid_until
        return
    with pytest.raises(InvalidInput) as error:
        offers.check_valid_until(valid_until, day)
    assert error.value.field == "validUntil"
    assert error.value.parameters == {
        "earliest": day,
        "latest": date(2027, 12, 3),
        "maxDays": 365,
    }


async def test_a_validity_too_far_ahead_is_refused_with_the_range(gql: GraphQLClient) -> None:
    latest = today() + timedelta(days=365)
    refused = await run(
        gql, "agent", input=offer_input(validUntil=(latest + timedelta(days=1)).isoformat())
    )
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "validUntil")
    parameters = {p["name"]: p["value"] for p in refused["parameters"]}
    assert parameters["maxDays"] == "365"
    assert latest.strftime("%d.%m.%Y") in refused["message"]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"quantity": "0"}, "lineItems.0.quantity"),
        ({"quantity": "1.0001"}, "lineItems.0.quantity"),
        ({"quantity": "1000000"}, "lineItems.0.quantity"),
        ({"unitPriceNet": "-1"}, "lineItems.0.unitPriceNet"),
        ({"unitPriceNet": "1.001"}, "lineItems.0.unitPriceNet"),
        ({"vatRate": "100.01"}, "lineItems.0.vatRate"),
        ({"vatRate": "-7"}, "lineItems.0.vatRate"),
        ({"name": "  "}, "lineItems.0.name"),
        ({"unit": "x" * 21}, "lineItems.0.unit"),
    ],
)
async def test_a_line_item_outside_the_limits_is_refused(
    gql: GraphQLClient, item: dict[str, str], field: str
) -> None:
    refused = await run(gql, "agent", input=offer_input(lineItems=[{**ITEM, **item}]))
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", field)


async def test_an_offer_has_one_to_fifty_items(gql: GraphQLClient) -> None:
    for items in ([], [ITEM] * 51):
        refused = await run(gql, "agent", input=offer_input(lineItems=items))
        assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "lineItems")
    assert (await run(gql, "agent", input=offer_input(lineItems=[ITEM] * 50)))[
        "__typename"
    ] == "OfferCreated"


@pytest.mark.parametrize("actor", ["customer", "installer", "anonymous", "other_org_customer"])
async def test_only_staff_make_offers(
    gql: GraphQLClient, actor: str, session: AsyncSession
) -> None:
    data, errors = await gql(CREATE, actor, input=offer_input())
    assert data == {"createOffer": None}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    count = await session.scalar(
        sa.select(sa.func.count()).where(models.Order.status == models.OrderStatus.OFFER)
    )
    assert count == 1  # the demo's


async def test_another_organizations_staff_find_neither_contact_nor_contract(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    refused = await run(gql, "other_admin", input=offer_input())
    assert (refused["code"], refused["field"]) == ("NOT_FOUND", "contactId")
    contract = await anna_contract(session)
    other_contact = ACTORS["other_customer"].contact_id
    assert other_contact is not None
    mixed = offer_input(
        contactId=global_id("Contact", other_contact),
        contractId=global_id("Contract", contract.id),
    )
    refused = await run(gql, "agent", input=mixed)
    assert (refused["code"], refused["field"]) == ("NOT_FOUND", "contractId")


async def test_an_offer_of_a_hidden_contract_is_neither_shown_nor_mailed(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    """Anna's group shows terminated contracts only: her active contract's offer does
    not exist for her, and she gets no mail about it."""
    hiding = {"contract_statuses": ["TERMINATED"]}
    await session.execute(
        sa.update(models.PermissionGroup)
        .where(models.PermissionGroup.id == ACTORS["customer"].permission_group_id)
        .values(visibility=hiding)
    )
    contract = await anna_contract(session)
    assert contract.status is models.ContractStatus.ACTIVE
    made = await run(gql, "agent", input=offer_input(contractId=global_id("Contract", contract.id)))
    anna = replace(ACTORS["customer"], visibility=Visibility.from_json(hiding))
    data, _ = await gql(ORDER, anna, id=made["order"]["id"])
    assert data == {"node": None}
    outbox = models.OutboundEmail
    assert await session.scalar(sa.select(outbox).where(outbox.kind == "new_offer")) is None
    refused = await gql(RESPOND, anna, id=made["order"]["id"])
    assert refused[0] is not None
    assert refused[0]["respondToOffer"]["code"] == "NOT_FOUND"


async def test_an_expired_offer_can_not_be_accepted(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    made = await run(gql, "agent", input=offer_input(validUntil=today().isoformat()))
    order_id = made["order"]["id"]
    row = await session.scalar(
        sa.select(models.Order).where(models.Order.number == made["order"]["number"])
    )
    assert row is not None
    order_row = row.id
    yesterday = today() - timedelta(days=1)
    row.offer_valid_until = yesterday  # a day later, as it were
    await session.flush()
    data, errors = await gql(RESPOND, "customer", id=order_id)
    assert errors == []
    assert data is not None
    refused = data["respondToOffer"]
    assert (refused["code"], refused["field"]) == ("OFFER_EXPIRED", "orderId")
    assert {p["name"]: p["value"] for p in refused["parameters"]} == {
        "validUntil": yesterday.isoformat()
    }
    assert "galt bis zum" in refused["message"]
    row = await session.get_one(models.Order, order_row, populate_existing=True)
    assert row.status is models.OrderStatus.OFFER
    # On its last day it still can.
    row.offer_valid_until = today()
    await session.flush()
    data, errors = await gql(RESPOND, "customer", id=order_id)
    assert data is not None
    assert data["respondToOffer"] == {
        "__typename": "OfferAnswered",
        "order": {"status": "OPEN"},
    }


async def test_the_new_offer_mail_reaches_the_smtp_sink(
    gql: GraphQLClient,
    session: AsyncSession,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    made = await run(gql, "agent", input=offer_input())
    await session.commit()
    later = datetime.now(UTC) + timedelta(minutes=5)
    report = await delivery.deliver_due(sessions, smtp.transport, delivery.RetryPolicy(), now=later)
    assert report.failed == 0
    [delivered] = [m for m in smtp.sink.mails if made["order"]["number"] in str(m.subject)]
    assert delivered.recipients == ["anna.becker@example.org"]


async def test_more_line_items_cost_no_more_statements(
    gql: GraphQLClient, connection: AsyncConnection
) -> None:
    """The items are one INSERT, whatever their number (a statement SQLAlchemy runs is
    listed twice, hence the sets)."""
    counts: list[list[str]] = []
    for items in ([ITEM], [ITEM] * 20):
        with counting_statements(connection) as statements:
            made = await run(gql, "agent", input=offer_input(lineItems=items))
        assert made["__typename"] == "OfferCreated"
        counts.append([s for s in statements if not CONTROL.match(s)])
        # One write each: the counter, the offer, its items, the audit event, Anna's mail.
        for table in ("offer_number", '"order"', "order_line_item", "audit_event", "email_outbox"):
            inserts = {x for x in statements if x.lstrip().startswith(f"INSERT INTO {table} ")}
            assert len(inserts) == 1, (table, inserts)
    assert len(counts[0]) == len(counts[1])


def test_an_items_amounts_are_rounded_to_the_cent() -> None:
    item = offers.LineItem("Wallbox", Decimal("1.5"), "h", Decimal("80.33"), Decimal("7"))
    checked = offers.check_line_item(item, 0)
    assert (offers.net(checked), offers.gross(checked)) == (Decimal("120.50"), Decimal("128.94"))
