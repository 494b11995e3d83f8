"""The tiles of a portal's draft home page (ADMIN): add, change, delete, reorder."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from gql.auth.actor import Role
from gql.auth.permissions import allow, public
from gql.context import Info
from gql.domain import tiles
from gql.schema import enums
from gql.schema.node import node_uuid
from gql.schema.portal import Tile
from gql.schema.results import INPUT, MutationError, attempt, origin, row_id
from gql.schema.scalars import JSON


def _group_ids(ids: list[relay.GlobalID] | None) -> list[Any] | None:
    if ids is None:
        return None
    return [node_uuid(i, "PermissionGroup") for i in ids]


@strawberry.input(description="A new tile at the end of a portal's draft home page.")
class CreateTileInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    kind: enums.TileKind = strawberry.field(description="What the tile shows.")
    content: JSON = strawberry.field(
        description="Texts per language ({de: {title, ...}, en: {...}}) and what the kind"
        " needs: ENTITY an entity (contract, opportunity, order, meter), ACTION a url or"
        " journey_id and button_label, TEASER an image_url, DOCUMENTS/PAYMENTS a limit."
    )
    visible: bool = strawberry.field(default=True, description="Shown at all.")
    permission_group_ids: list[relay.GlobalID] = strawberry.field(
        default_factory=list, description="Shown only to these groups; empty: to everyone."
    )


@strawberry.input(description="Changes to a tile; what is left out stays.")
class UpdateTileInput:
    id: relay.GlobalID = strawberry.field(description="The tile.")
    content: JSON | None = strawberry.field(default=None, description="The complete content.")
    visible: bool | None = strawberry.field(default=None, description="Shown at all.")
    permission_group_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Shown only to these groups; empty: to everyone."
    )


@strawberry.input(description="A tile to delete.")
class DeleteTileInput:
    id: relay.GlobalID = strawberry.field(description="The tile.")


@strawberry.input(description="The new order of all of a portal's tiles.")
class ReorderTilesInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    tile_ids: list[relay.GlobalID] = strawberry.field(description="Every tile, once, in order.")


@strawberry.type(description="The tile as saved (in the draft).")
class TilePayload:
    tile: Tile = public("The tile.")


@strawberry.type(description="The draft's tiles in their new order.")
class TilesPayload:
    tiles: list[Tile] = public("The tiles.")


@strawberry.type(description="A deleted tile.")
class DeleteTilePayload:
    deleted_id: relay.GlobalID = public("ID of the deleted tile.")


TileResult = Annotated[
    TilePayload | MutationError,
    strawberry.union(
        "TileResult",
        description="Answer of `createTile` and `updateTile`: TilePayload, or MutationError (e.g."
        " content that does not fit the tile's kind).",
    ),
]
TilesResult = Annotated[
    TilesPayload | MutationError,
    strawberry.union(
        "TilesResult",
        description="Answer of `reorderTiles`: TilesPayload with the tiles in their new order, or"
        " MutationError.",
    ),
]
DeleteTileResult = Annotated[
    DeleteTilePayload | MutationError,
    strawberry.union(
        "DeleteTileResult",
        description="Answer of `deleteTile`: DeleteTilePayload, or MutationError.",
    ),
]


async def create_tile(
    info: Info, input: Annotated[CreateTileInput, strawberry.argument(description=INPUT)]
) -> TileResult:
    async def work(db: AsyncSession) -> TilePayload:
        tile = await tiles.create(
            db,
            info.context.actor,
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            kind=input.kind,
            content=input.content,
            visible=input.visible,
            group_ids=_group_ids(input.permission_group_ids) or [],
            origin=origin(info),
        )
        return TilePayload(tile=cast(Tile, tile))

    return await attempt(info, work)


async def update_tile(
    info: Info, input: Annotated[UpdateTileInput, strawberry.argument(description=INPUT)]
) -> TileResult:
    async def work(db: AsyncSession) -> TilePayload:
        tile = await tiles.update(
            db,
            info.context.actor,
            row_id(input.id, "Tile", "id"),
            content=input.content,
            visible=input.visible,
            group_ids=_group_ids(input.permission_group_ids),
            origin=origin(info),
        )
        return TilePayload(tile=cast(Tile, tile))

    return await attempt(info, work)


async def delete_tile(
    info: Info, input: Annotated[DeleteTileInput, strawberry.argument(description=INPUT)]
) -> DeleteTileResult:
    async def work(db: AsyncSession) -> DeleteTilePayload:
        await tiles.delete(
            db, info.context.actor, row_id(input.id, "Tile", "id"), origin=origin(info)
        )
        return DeleteTilePayload(deleted_id=input.id)

    return await attempt(info, work)


async def reorder_tiles(
    info: Info, input: Annotated[ReorderTilesInput, strawberry.argument(description=INPUT)]
) -> TilesResult:
    async def work(db: AsyncSession) -> TilesPayload:
        order = await tiles.reorder(
            db,
            info.context.actor,
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            tile_ids=[node_uuid(i, "Tile") for i in input.tile_ids],
            origin=origin(info),
        )
        return TilesPayload(tiles=cast(list[Tile], order))

    return await attempt(info, work)


@strawberry.type
class Mutation:
    """Tiles: fields of the root `Mutation` (merged in root.py)."""

    create_tile: TileResult | None = allow(
        Role.ADMIN,
        description="Add a tile to the end of a portal's draft home page.",
        resolver=create_tile,
    )
    update_tile: TileResult | None = allow(
        Role.ADMIN, description="Change a draft tile.", resolver=update_tile
    )
    delete_tile: DeleteTileResult | None = allow(
        Role.ADMIN, description="Delete a draft tile.", resolver=delete_tile
    )
    reorder_tiles: TilesResult | None = allow(
        Role.ADMIN,
        description="Put all of a portal's draft tiles in a new order (drag and drop).",
        resolver=reorder_tiles,
    )
