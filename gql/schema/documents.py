"""Document uploads (GraphQL multipart request) and deletion; the rules live in
`gql.domain.documents`."""

from __future__ import annotations

import enum
from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.file_uploads import Upload

from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.permissions import STAFF, Impersonation, allow, public
from gql.context import Info
from gql.domain import documents
from gql.schema import enums
from gql.schema.crm import Document
from gql.schema.results import (
    INPUT,
    Error,
    MutationError,
    attempt,
    error_fields,
    notifier,
    origin,
    row_id,
)
from gql.schema.scalars import Line


@strawberry.input(description="A file to add to a contact's documents.")
class UploadDocumentInput:
    file: Upload = strawberry.field(
        description="The file (multipart request): PDF, PNG, JPEG, TIFF or HEIC, at most"
        " DOCUMENT_MAX_BYTES (default 10 MiB). Its type is read from its content."
    )
    type: enums.DocumentType = strawberry.field(
        default=enums.DocumentType.OTHER,
        description="Kind of document; customers may choose LETTER, PROTOCOL or OTHER.",
    )
    name: Line | None = strawberry.field(
        default=None, description="File name to show; default: the uploaded file's name."
    )
    contact_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The contact it belongs to: required for staff; customers upload to their own.",
    )
    contract_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A contract of that contact it belongs to."
    )
    order_id: relay.GlobalID | None = strawberry.field(
        default=None, description="An order of that contact it belongs to."
    )


@strawberry.type(description="The stored document.")
class DocumentUploaded:
    document: Document = public("The document.")


@strawberry.enum(description="Why a file was not accepted.")
class DocumentRefusal(enum.Enum):
    EMPTY_FILE = strawberry.enum_value("EMPTY_FILE", description="The file has no content.")
    FILE_TOO_LARGE = strawberry.enum_value(
        "FILE_TOO_LARGE", description="The file is larger than `maxBytes`."
    )
    TYPE_NOT_ALLOWED = strawberry.enum_value(
        "TYPE_NOT_ALLOWED",
        description="The content is not PDF, PNG, JPEG, TIFF or HEIC (whatever the file name"
        " says); `detectedType` tells what it is, if known.",
    )
    EXECUTABLE = strawberry.enum_value(
        "EXECUTABLE",
        description="The content is a program or script; never accepted, whatever its name.",
    )


@strawberry.type(
    description="The file was not accepted; nothing was stored (code EMPTY_FILE,"
    " FILE_TOO_LARGE, TYPE_NOT_ALLOWED or EXECUTABLE, as `reason`)."
)
class DocumentRefused(Error):
    reason: DocumentRefusal = public("Why.")
    detected_type: str | None = public("The media type read from the file's content, if known.")
    max_bytes: int | None = public("The size limit, for FILE_TOO_LARGE.")


UploadDocumentResult = Annotated[
    DocumentUploaded | DocumentRefused | MutationError,
    strawberry.union(
        "UploadDocumentResult",
        description="Answer of `uploadDocument`: DocumentUploaded; DocumentRefused when the file"
        " itself is not accepted; or MutationError for the rest of the input.",
    ),
]


def _refused(refused: documents.UploadRefused, limit: int) -> DocumentRefused:
    reason = DocumentRefusal(refused.reason)
    return DocumentRefused(
        **error_fields(refused),
        reason=reason,
        detected_type=refused.detected_type,
        max_bytes=limit if reason is DocumentRefusal.FILE_TOO_LARGE else None,
    )


async def upload_document(
    info: Info, input: Annotated[UploadDocumentInput, strawberry.argument(description=INPUT)]
) -> UploadDocumentResult:
    limit = info.context.settings.document_max_bytes
    upload = cast(documents.Readable, input.file)
    try:
        data = await documents.read_limited(upload, limit)
    except documents.UploadRefused as refused:
        return _refused(refused, limit)
    finally:
        await input.file.close()  # type: ignore[attr-defined]

    async with documents.undo_on_failure(info.context.storage) as storage:

        async def work(db: AsyncSession) -> DocumentUploaded | DocumentRefused:
            try:
                document = await documents.upload(
                    db,
                    info.context.actor,
                    storage,
                    data=data,
                    file_name=input.name or getattr(input.file, "filename", None),
                    type=input.type,
                    contact_id=row_id(input.contact_id, "Contact", "contactId"),
                    contract_id=row_id(input.contract_id, "Contract", "contractId"),
                    order_id=row_id(input.order_id, "Order", "orderId"),
                    origin=origin(info),
                    notify=notifier(info),
                )
            except documents.UploadRefused as refused:  # found before anything is written
                return _refused(refused, limit)
            return DocumentUploaded(document=cast(Document, document))

        return await attempt(info, work)


@strawberry.input(description="A document to delete.")
class DeleteDocumentInput:
    document_id: relay.GlobalID = strawberry.field(description="The document.")


@strawberry.type(description="The document and its file are gone.")
class DocumentDeleted:
    deleted_id: relay.GlobalID = public("ID of the deleted document.")


DeleteDocumentResult = Annotated[
    DocumentDeleted | MutationError,
    strawberry.union(
        "DeleteDocumentResult",
        description="Answer of `deleteDocument`: DocumentDeleted, or MutationError (e.g."
        " NOT_FOUND, or a document the caller may not delete).",
    ),
]


async def delete_document(
    info: Info, input: Annotated[DeleteDocumentInput, strawberry.argument(description=INPUT)]
) -> DeleteDocumentResult:
    keys: list[str] = []

    async def work(db: AsyncSession) -> DocumentDeleted:
        document = await documents.delete(
            db,
            info.context.actor,
            document_id=row_id(input.document_id, "Document", "documentId"),
            origin=origin(info),
            notify=notifier(info),
        )
        keys.append(document.storage_key)
        return DocumentDeleted(deleted_id=input.document_id)

    result = await attempt(info, work)
    for key in keys if isinstance(result, DocumentDeleted) else ():
        await documents.remove_file(info.context.storage, key)  # after the commit
    return result


@strawberry.type
class Mutation:
    """Documents: fields of the root `Mutation` (merged in root.py)."""

    upload_document: UploadDocumentResult | None = allow(
        STAFF,
        Role.CUSTOMER,
        grant=Grant.DOCUMENT_UPLOAD,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Upload a file (multipart request) as a document: customers to their own"
        " contact, staff to any contact of the organization. Type sniffed from the content.",
        resolver=upload_document,
    )
    delete_document: DeleteDocumentResult | None = allow(
        STAFF,
        Role.CUSTOMER,
        grant=Grant.DOCUMENT_DELETE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Delete a document and its file: staff any of the organization,"
        " customers only those they uploaded themselves.",
        resolver=delete_document,
    )
