"""uploadDocument, deleteDocument and download links over HTTP through the ASGI app:
multipart uploads as a customer and as staff, the limits, a disguised executable,
other customers' rows by ID, who may delete what, signed links (tampered, expired,
another holder) and documents that stay new until the customer downloads them."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.demo import demo_pdf
from db.models.enums import Grant
from db.session import Database
from gql.app import create_app
from gql.auth.links import links_for
from gql.auth.tokens import TokenService
from gql.domain.documents import Holder, LocalStorage
from gql.downloads import content_disposition
from gql.resolvers import computed
from gql.settings import Settings
from tests.conftest import ACTORS, GraphQLClient, contact_id, global_id, jwt_part
from tests.document_helpers import invoice_of, storage_of, stored_bytes, stored_keys
from tests.http_helpers import impersonate, login, portal_gid, post

PDF = demo_pdf("Vertrag unterschrieben")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)

UPLOAD = """mutation($input: UploadDocumentInput!) { uploadDocument(input: $input) {
  __typename
  ... on DocumentUploaded { document { id name type mimeType sizeBytes isNew
                                       uploadedByCustomer contract { number } } }
  ... on DocumentRefused { reason message detectedType maxBytes }
  ... on MutationError { code message field } } }"""
DELETE = """mutation($id: ID!) { deleteDocument(input: {documentId: $id}) {
  __typename ... on DocumentDeleted { deletedId }
  ... on MutationError { code message field detail } } }"""
DOCUMENT = """query($id: ID!) { node(id: $id) { ... on Document { name isNew downloadUrl } } }"""
DOCUMENT_LINKS = "{ viewer { contact { documents { edges { node { downloadUrl } } } } } }"

ANNA = ACTORS["customer"]
JONAS = ACTORS["other_customer"]
ANNA_CONTACT = contact_id("musterstadt", "c00")
JONAS_CONTACT = contact_id("musterstadt", "c01")


async def token(client: httpx.AsyncClient, who: str) -> str:
    email, password, portal = {
        "anna": ("anna.becker@example.org", "Demo-Kunde-1", "musterstadt-kunden"),
        "jonas": ("jonas.wolf@example.org", "Demo-Kunde-2", "musterstadt-kunden"),
        "agent": ("agent@musterstadt.example", "Demo-Agent-1", None),
        "other_admin": ("admin@nachbarstadt.example", "Demo-Admin-2", None),
    }[who]
    result = await login(client, email, password, portal_gid(portal) if portal else None)
    assert result["__typename"] == "LoggedIn", result
    return str(result["accessToken"])


def holder_of(bearer: str) -> Holder:
    """The holder the app gives download links to for this access token."""
    claims = jwt_part(bearer, 1)
    staff = claims["act"]["sub"] if "act" in claims else None
    if claims["role"] in ("ADMIN", "AGENT"):
        user, staff = None, claims["sub"]
    else:
        user = claims["sub"]
    return Holder(
        portal_user_id=uuid.UUID(user) if user else None,
        staff_user_id=uuid.UUID(staff) if staff else None,
        session_id=uuid.UUID(claims["sid"]),
    )


async def upload(
    client: httpx.AsyncClient,
    bearer: str,
    content: bytes,
    filename: str = "scan.pdf",
    content_type: str = "application/pdf",
    **input: Any,
) -> httpx.Response:
    """A GraphQL multipart request (operations, map, file) as a browser sends it."""
    operations = {"query": UPLOAD, "variables": {"input": {"file": None, **input}}}
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (filename, content, content_type)},
        headers={"Authorization": f"Bearer {bearer}"},
    )


async def uploaded(client: httpx.AsyncClient, bearer: str, content: bytes, **kw: Any) -> Any:
    response = await upload(client, bearer, content, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["uploadDocument"]


async def query(client: httpx.AsyncClient, bearer: str, text: str, **variables: Any) -> Any:
    response = await post(client, text, bearer, **variables)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
def test_settings(document_settings: Settings) -> Settings:
    """Every test of this module runs twice: with local files and with the S3 bucket."""
    return document_settings


@pytest.fixture(scope="module")
def tokens(test_settings: Settings) -> TokenService:
    return TokenService.from_settings(test_settings)  # the session's keys, this scope


# --- Upload --------------------------------------------------------------------------------------


async def test_a_customer_uploads_a_pdf_to_a_contract_audited_and_stored(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    contract = await session.scalar(
        sa.select(models.Contract)
        .where(models.Contract.contact_id == ANNA.contact_id)
        .order_by(models.Contract.number)
        .limit(1)
    )
    assert contract is not None
    bearer = await token(client, "anna")
    result = await uploaded(
        client,
        bearer,
        PDF,
        filename="Zählerstand März.pdf",
        type="PROTOCOL",
        contractId=global_id("Contract", contract.id),
    )
    assert result["__typename"] == "DocumentUploaded", result
    assert result["document"] | {"id": None} == {
        "id": None,
        "name": "Zählerstand März.pdf",
        "type": "PROTOCOL",
        "mimeType": "application/pdf",
        "sizeBytes": len(PDF),
        "isNew": False,
        "uploadedByCustomer": True,
        "contract": {"number": contract.number},
    }
    row = await session.scalar(
        sa.select(models.Document).where(models.Document.name == "Zählerstand März.pdf")
    )
    assert row is not None
    assert (row.contact_id, row.uploaded_by_id) == (ANNA.contact_id, ANNA.subject_id)
    assert await stored_bytes(test_settings, row.storage_key) == PDF
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "document.uploaded", models.AuditEvent.entity_id == row.id
        )
    )
    assert event is not None
    assert event.actor_id == ANNA.subject_id
    mail = await session.scalar(
        sa.select(models.OutboundEmail).where(models.OutboundEmail.kind == "staff_notification")
    )
    assert mail is not None
    assert mail.recipient == "agent@musterstadt.example"
    assert mail.subject.endswith("Dokument hochgeladen (Anna Becker)")
    assert "Zählerstand März.pdf (PROTOCOL, application/pdf" in mail.body_text


async def test_the_type_is_sniffed_not_taken_from_name_or_content_type(
    client: httpx.AsyncClient,
) -> None:
    result = await uploaded(client, await token(client, "anna"), PNG, filename="scan.pdf")
    assert result["document"]["mimeType"] == "image/png"
    assert result["document"]["name"] == "scan.png"


async def test_a_disguised_executable_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    count = sa.select(sa.func.count()).select_from(models.Document)
    before, files = await session.scalar(count), await stored_keys(test_settings)
    result = await uploaded(client, await token(client, "anna"), EXE, filename="rechnung.pdf")
    assert result["__typename"] == "DocumentRefused"
    assert result["reason"] == "EXECUTABLE"
    assert result["detectedType"] == "application/x-msdownload"
    assert await session.scalar(count) == before
    assert await stored_keys(test_settings) == files


@pytest.fixture
async def small_limit_client(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with uploads limited to 1 KiB (requests to 1 KiB + 1 MiB), on the module's
    storage: changed settings would make a storage of their own (`storage_for` is cached
    per settings), whose S3 client nothing closes (aiohttp's "Unclosed client session")."""
    settings = replace(test_settings, document_max_bytes=1024)
    app = create_app(
        settings, Database(sessions=sessions), tokens, storage=storage_of(test_settings)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def test_an_upload_over_the_limit_is_refused(small_limit_client: httpx.AsyncClient) -> None:
    client = small_limit_client
    bearer = await token(client, "anna")
    exactly = PDF + b"%" * (1024 - len(PDF))
    assert (await uploaded(client, bearer, exactly))["__typename"] == "DocumentUploaded"
    over = await uploaded(client, bearer, exactly + b"%")
    assert over["__typename"] == "DocumentRefused"
    assert (over["reason"], over["maxBytes"]) == ("FILE_TOO_LARGE", 1024)
    empty = await uploaded(client, bearer, b"")
    assert empty["reason"] == "EMPTY_FILE"


async def test_a_request_far_over_the_limit_is_cut_off_with_413(
    small_limit_client: httpx.AsyncClient,
) -> None:
    bearer = await token(small_limit_client, "anna")
    response = await upload(small_limit_client, bearer, PDF + b"%" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_customers_may_not_choose_the_utilitys_document_types(
    client: httpx.AsyncClient,
) -> None:
    result = await uploaded(client, await token(client, "anna"), PDF, type="INVOICE")
    assert (result["code"], result["field"]) == ("INVALID_INPUT", "type")


async def test_another_customers_contract_or_contact_by_id_is_not_found(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    jonas_contract = await session.scalar(
        sa.select(models.Contract.id).where(models.Contract.contact_id == JONAS.contact_id)
    )
    assert jonas_contract is not None
    files = await stored_keys(test_settings)
    bearer = await token(client, "anna")
    result = await uploaded(client, bearer, PDF, contractId=global_id("Contract", jonas_contract))
    assert (result["code"], result["field"]) == ("NOT_FOUND", "contractId")
    result = await uploaded(client, bearer, PDF, contactId=global_id("Contact", JONAS_CONTACT))
    assert (result["code"], result["field"]) == ("NOT_FOUND", "contactId")
    assert await stored_keys(test_settings) == files


async def test_staff_upload_for_a_contact_of_their_organization_which_is_new_to_it(
    client: httpx.AsyncClient,
) -> None:
    agent = await token(client, "agent")
    missing = await uploaded(client, agent, PDF)
    assert (missing["code"], missing["field"]) == ("INVALID_INPUT", "contactId")
    contact = global_id("Contact", ANNA_CONTACT)
    result = await uploaded(client, agent, PDF, contactId=contact, type="INVOICE")
    document = result["document"]
    assert (document["type"], document["isNew"], document["uploadedByCustomer"]) == (
        "INVOICE",
        True,
        False,
    )
    seen = await query(client, await token(client, "anna"), DOCUMENT, id=document["id"])
    assert seen["node"]["isNew"] is True
    other = await uploaded(client, await token(client, "other_admin"), PDF, contactId=contact)
    assert (other["code"], other["field"]) == ("NOT_FOUND", "contactId")


async def new_document_mails(session: AsyncSession) -> list[models.OutboundEmail]:
    mail = models.OutboundEmail
    rows = await session.scalars(sa.select(mail).where(mail.kind == "new_document"))
    return list(rows)


async def anna_group(session: AsyncSession) -> models.PermissionGroup:
    user = await session.get_one(models.PortalUser, ANNA.subject_id)
    return await session.get_one(models.PermissionGroup, user.permission_group_id)


async def test_a_document_staff_add_is_announced_to_the_customer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    agent = await token(client, "agent")
    contact = global_id("Contact", ANNA_CONTACT)
    await uploaded(client, agent, PDF, contactId=contact, type="INVOICE", name="Rechnung 12")
    [mail] = await new_document_mails(session)
    assert mail.recipient == "anna.becker@example.org"
    assert mail.subject == "Neues Dokument im Kundenportal Stadtwerke Musterstadt"
    assert "Rechnung 12.pdf" in mail.body_text
    assert "https://musterstadt.portale.example/portal/documents" in mail.body_text
    # What customers upload themselves is nothing new to them.
    await uploaded(client, await token(client, "anna"), PDF, type="LETTER")
    assert len(await new_document_mails(session)) == 1


@pytest.mark.parametrize(
    "narrowed",
    [
        {"visibility": {"document_types": ["LETTER"]}},  # invoices hidden from the group
        {"grants": [Grant.CONTRACT_READ.value]},  # no document:read
    ],
)
async def test_no_mail_for_a_document_the_customer_may_not_see(
    client: httpx.AsyncClient, session: AsyncSession, narrowed: dict[str, Any]
) -> None:
    group = await anna_group(session)
    for column, value in narrowed.items():
        setattr(group, column, value)
    await session.commit()
    agent = await token(client, "agent")
    contact = global_id("Contact", ANNA_CONTACT)
    await uploaded(client, agent, PDF, contactId=contact, type="INVOICE")
    assert await new_document_mails(session) == []


class FakeUpload:
    filename = "brief.pdf"

    async def read(self, size: int = -1, /) -> bytes:
        return b""

    async def close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("mutation", "grant"),
    [("uploadDocument", Grant.DOCUMENT_UPLOAD), ("deleteDocument", Grant.DOCUMENT_DELETE)],
)
async def test_each_mutation_is_refused_without_its_grant_and_to_installers(
    gql: GraphQLClient, mutation: str, grant: Grant
) -> None:
    without = replace(ANNA, grants=ANNA.grants - {grant})
    text, variables = (
        (UPLOAD, {"input": {"file": FakeUpload()}})
        if mutation == "uploadDocument"
        else (DELETE, {"id": global_id("Document", uuid.uuid4())})
    )
    for actor in (without, "installer", "anonymous"):
        data, errors = await gql(text, actor, **variables)
        assert data == {mutation: None}
        assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    denied = await gql(text, without, **variables)
    assert (denied[1][0].extensions or {}).get("grant") == grant.value
    impersonated = replace(ANNA, impersonator_id=ACTORS["agent"].subject_id)
    _, errors = await gql(text, impersonated, **variables)
    assert "impersonating" in errors[0].message


async def test_a_failed_store_leaves_no_row_and_answers_an_error(
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    test_settings: Settings,
    tokens: TokenService,
    tmp_path: Path,
) -> None:
    class Unreachable(LocalStorage):
        async def put(self, key: str, data: bytes) -> None:
            raise OSError("storage unreachable")

    app = create_app(
        test_settings, Database(sessions=sessions), tokens, storage=Unreachable(tmp_path)
    )
    count = sa.select(sa.func.count()).select_from(models.Document)
    before = await session.scalar(count)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        response = await upload(client, await token(client, "anna"), PDF)
    body = response.json()
    assert body["data"] == {"uploadDocument": None}
    assert body["errors"]
    assert await session.scalar(count) == before


# --- Delete --------------------------------------------------------------------------------------


async def test_a_customer_deletes_their_own_upload_and_its_file(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    bearer = await token(client, "anna")
    document_id = (await uploaded(client, bearer, PDF))["document"]["id"]
    row = await session.scalar(
        sa.select(models.Document).where(models.Document.uploaded_by_id == ANNA.subject_id)
    )
    assert row is not None
    row_id, key, storage = row.id, row.storage_key, storage_of(test_settings)
    assert await storage.exists(key)
    result = (await query(client, bearer, DELETE, id=document_id))["deleteDocument"]
    assert result == {"__typename": "DocumentDeleted", "deletedId": document_id}
    assert not await storage.exists(key)
    session.expire_all()
    assert await session.get(models.Document, row_id) is None
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "document.deleted", models.AuditEvent.entity_id == row_id
        )
    )
    assert event is not None


async def test_customers_can_not_delete_the_utilitys_documents_staff_can(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    invoice = await invoice_of(session, ANNA, test_settings)
    invoice_id = global_id("Document", invoice.id)
    refused = (await query(client, await token(client, "anna"), DELETE, id=invoice_id))[
        "deleteDocument"
    ]
    assert (refused["code"], refused["field"]) == ("RULE_VIOLATED", "documentId")
    assert "uploaded yourself" in refused["detail"]
    done = (await query(client, await token(client, "agent"), DELETE, id=invoice_id))[
        "deleteDocument"
    ]
    assert done["__typename"] == "DocumentDeleted"
    assert not await storage_of(test_settings).exists(invoice.storage_key)


async def test_another_customers_document_by_id_is_neither_seen_nor_deleted(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    jonas_invoice = await invoice_of(session, JONAS, test_settings)
    document_id = global_id("Document", jonas_invoice.id)
    bearer = await token(client, "anna")
    assert await query(client, bearer, DOCUMENT, id=document_id) == {"node": None}
    result = (await query(client, bearer, DELETE, id=document_id))["deleteDocument"]
    assert (result["code"], result["field"]) == ("NOT_FOUND", "documentId")
    jonas_upload = (await uploaded(client, await token(client, "jonas"), PDF))["document"]["id"]
    result = (await query(client, bearer, DELETE, id=jonas_upload))["deleteDocument"]
    assert (result["code"], result["field"]) == ("NOT_FOUND", "documentId")


# --- Download ------------------------------------------------------------------------------------


async def test_the_download_url_serves_the_file_and_the_document_is_no_longer_new(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    invoice = await invoice_of(session, ANNA, test_settings)
    invoice_id = invoice.id
    document_id = global_id("Document", invoice_id)
    bearer = await token(client, "anna")
    before = (await query(client, bearer, DOCUMENT, id=document_id))["node"]
    assert before["isNew"] is True
    url = before["downloadUrl"]
    assert url.startswith(f"/documents/{invoice_id}?")

    response = await client.get(url)  # no bearer token: the link is the authorization
    assert response.status_code == 200, response.text
    assert response.content == demo_pdf(invoice.name)
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-store"
    quoted = invoice.name.replace(" ", "%20")
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"{invoice.name}\"; filename*=UTF-8''{quoted}"
    )
    after = (await query(client, bearer, DOCUMENT, id=document_id))["node"]
    assert after["isNew"] is False
    session.expire_all()
    opened = (await session.get_one(models.Document, invoice_id)).opened_at
    assert opened is not None
    assert (await client.get(url)).status_code == 200  # again, within its time
    session.expire_all()
    assert (await session.get_one(models.Document, invoice_id)).opened_at == opened
    events = await session.scalars(
        sa.select(models.AuditEvent.data).where(
            models.AuditEvent.action == "document.downloaded",
            models.AuditEvent.entity_id == invoice_id,
        )
    )
    assert sorted(e["first_opened"] for e in events) == [False, True]


async def test_staff_downloads_leave_the_document_new_for_the_customer(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    invoice = await invoice_of(session, ANNA, test_settings)
    invoice_id = invoice.id
    agent = await token(client, "agent")
    url = (await query(client, agent, DOCUMENT, id=global_id("Document", invoice_id)))["node"][
        "downloadUrl"
    ]
    assert f"staff={ACTORS['agent'].subject_id}" in url
    assert (await client.get(url)).status_code == 200
    session.expire_all()
    assert (await session.get_one(models.Document, invoice_id)).opened_at is None


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(params)}"


async def test_a_tampered_link_is_403(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    invoice = await invoice_of(session, ANNA, test_settings)
    jonas_invoice = await invoice_of(session, JONAS, test_settings)
    url = links_for(test_settings).url(
        invoice.id, holder_of(await token(client, "anna")), datetime.now(UTC)
    )
    sig = parse_qs(urlsplit(url).query)["sig"][0]
    later = str(int(datetime.now(UTC).timestamp()) + 3600)
    for tampered in (
        _with(url, sig=("A" if sig[0] != "A" else "B") + sig[1:]),
        _with(url, user=str(JONAS.subject_id)),  # someone else's link
        _with(url, session=str(uuid.uuid4())),  # another session
        _with(url, expires=later),
        url.replace(str(invoice.id), str(jonas_invoice.id)),
        _with(url, sig=""),
        f"/documents/{uuid.uuid4()}?" + urlsplit(url).query,  # rejected before any lookup
    ):
        response = await client.get(tampered)
        assert response.status_code == 403, tampered
        assert response.text == "This download link is not valid."
        assert response.headers["cache-control"] == "private, no-store"


async def test_an_expired_link_is_410(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    invoice = await invoice_of(session, ANNA, test_settings)
    links = links_for(test_settings)
    holder = holder_of(await token(client, "anna"))
    issued = datetime.now(UTC) - timedelta(seconds=test_settings.document_url_ttl_seconds + 1)
    response = await client.get(links.url(invoice.id, holder, issued))
    assert response.status_code == 410
    assert "expired" in response.text
    assert (await client.get(links.url(invoice.id, holder, datetime.now(UTC)))).status_code == 200


async def test_a_link_stops_working_when_its_holder_or_document_does(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    invoice = await invoice_of(session, ANNA, test_settings)
    links = links_for(test_settings)
    now = datetime.now(UTC)
    jonas_link = links.url(invoice.id, holder_of(await token(client, "jonas")), now)
    assert (await client.get(jonas_link)).status_code == 404  # signed, but not his document
    anna_link = links.url(invoice.id, holder_of(await token(client, "anna")), now)
    assert (await client.get(anna_link)).status_code == 200
    user = await session.get_one(models.PortalUser, ANNA.subject_id)
    user.registration_status = models.RegistrationStatus.DISABLED
    await session.flush()
    assert (await client.get(anna_link)).status_code == 404
    agent_link = links.url(invoice.id, holder_of(await token(client, "agent")), now)
    assert (await client.get(agent_link)).status_code == 200
    await session.delete(await session.get_one(models.Document, invoice.id))
    await session.flush()
    assert (await client.get(agent_link)).status_code == 404


async def test_impersonating_staff_download_as_the_customer_without_opening_it(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    invoice = await invoice_of(session, ANNA, test_settings)
    invoice_id = invoice.id
    impersonation = await impersonate(client, await token(client, "agent"))
    holder = holder_of(impersonation["accessToken"])
    assert holder.staff_user_id == ACTORS["agent"].subject_id
    url = links_for(test_settings).url(invoice_id, holder, datetime.now(UTC))
    assert (await client.get(url)).status_code == 200
    session.expire_all()
    assert (await session.get_one(models.Document, invoice_id)).opened_at is None
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "document.downloaded",
            models.AuditEvent.entity_id == invoice_id,
        )
    )
    assert event is not None
    assert (event.actor_id, event.on_behalf_of_id) == (ACTORS["agent"].subject_id, ANNA.subject_id)


def test_file_names_in_the_download_header_survive_any_client() -> None:
    assert content_disposition('Zählerstand "März".pdf') == (
        'attachment; filename="Z_hlerstand _M_rz_.pdf";'
        " filename*=UTF-8''Z%C3%A4hlerstand%20%22M%C3%A4rz%22.pdf"
    )


async def test_a_request_signs_its_links_for_the_moment_it_began(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every computation of a request is for the moment the request began
    (computed.one_moment), however the clock moves while it is answered: the links of
    one answer share one expiry, the executor's answer (the first time) as the plan's
    (the second; QUERY_PLANS=compare computes both for one request and compares them)."""
    bearer = await token(client, "anna")
    began = datetime.now(UTC)
    minutes = itertools.count()
    monkeypatch.setattr(computed, "clock", lambda: began + timedelta(minutes=next(minutes)))
    for engine in ("executor", "plan"):
        data = await query(client, bearer, DOCUMENT_LINKS)
        edges = data["viewer"]["contact"]["documents"]["edges"]
        links = [edge["node"]["downloadUrl"] for edge in edges]
        assert len(links) >= 2, engine
        expiries = {parse_qs(urlsplit(link).query)["expires"][0] for link in links}
        assert len(expiries) == 1, (engine, expiries)
