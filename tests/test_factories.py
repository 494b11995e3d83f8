"""The row builders of tests/factories.py: a whole chain of new rows (organization,
portal, group, contact, contract, meter, portal user) next to the demo world, linked
as the builders promise; a column that does not exist is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from tests import factories


async def test_factories_build_a_linked_customer_of_a_new_organization(
    session: AsyncSession,
) -> None:
    organization = await factories.make_organization(session)
    portal = await factories.make_portal(session, organization.id)
    group = await factories.make_permission_group(session, portal.id, name="Standard")
    contact = await factories.make_contact(session, organization.id)
    contract = await factories.make_contract(session, contact)
    meter = await factories.make_meter(session, contract)
    user = await factories.make_portal_user(
        session,
        portal,
        group.id,
        contact_id=contact.id,
        assignment_status=models.AssignmentStatus.ASSIGNED,
    )
    tile = await factories.make_tile(session, portal.id)
    document = await factories.make_document(session, contact.id, organization.id)
    await session.commit()

    assert {portal.organization_id, group.organization_id, contract.organization_id} == {
        organization.id
    }
    assert (contract.contact_id, meter.contract_id) == (contact.id, contract.id)
    assert (user.portal_id, user.permission_group_id, user.contact_id) == (
        portal.id,
        group.id,
        contact.id,
    )
    assert (tile.organization_id, document.organization_id) == (organization.id, organization.id)
    registers = await session.scalars(
        sa.select(models.MeterRegister.obis_code).where(models.MeterRegister.meter_id == meter.id)
    )
    assert list(registers) == ["1.8.0"]


async def test_factories_refuse_a_column_the_row_does_not_have(session: AsyncSession) -> None:
    with pytest.raises(TypeError, match="no column 'colour'"):
        await factories.make_contact(session, colour="blau")
