"""Per-request DataLoaders. Built in the request context, never at module level, so
nothing is cached across requests or tenants. Every loader filters through
`scope.visible`, so a row reached through any path is a row the actor may see."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Result
from sqlalchemy.sql import Executable
from strawberry.dataloader import DataLoader

from db import models
from gql.auth.actor import Actor
from gql.domain import two_factor
from gql.domain.scope import visible

Execute = Callable[[Executable], Awaitable[Result[Any]]]
K = TypeVar("K")
V = TypeVar("V")
# (meter or register id, how many readings, from the oldest end)
ReadingsKey = tuple[uuid.UUID, int, bool]


class Loaders:
    """Loaders are created on first use; a request touches only a few of them."""

    def __init__(self, execute: Execute, actor: Actor) -> None:
        self._execute = execute
        self._actor = actor
        self._by_id: dict[type[Any], DataLoader[uuid.UUID, Any]] = {}
        self._by_fk: dict[tuple[Any, ...], DataLoader[uuid.UUID, list[Any]]] = {}
        self._counts: dict[Any, DataLoader[uuid.UUID, int]] = {}
        self._readings: dict[Any, DataLoader[ReadingsKey, list[models.MeterReading]]] = {}
        self._totp_enabled: DataLoader[uuid.UUID, bool] | None = None
        self._portal_versions: (
            DataLoader[tuple[uuid.UUID, int], models.PortalVersion | None] | None
        ) = None
        self._all_visible: dict[tuple[Any, ...], asyncio.Future[list[Any]]] = {}
        self._batches: dict[str, DataLoader[Any, Any]] = {}

    def batch(
        self, name: str, load: Callable[[Execute, list[K]], Awaitable[list[V]]]
    ) -> DataLoader[K, V]:
        """A loader of a domain function that answers many keys in one go (e.g.
        `self_service.contract_facts`), one per `name` in a request. The keys are rows
        the caller already reached through a scoped loader."""
        loader = self._batches.get(name)
        if loader is None:

            async def run(keys: list[K]) -> list[V]:
                return await load(self._execute, keys)

            loader = self._batches[name] = DataLoader(load_fn=run)
        return loader

    def by_id(self, model: type[Any]) -> DataLoader[uuid.UUID, Any]:
        """Rows of `model` by primary key; invisible rows load as None."""
        loader = self._by_id.get(model)
        if loader is None:

            async def load(ids: list[uuid.UUID]) -> list[Any]:
                statement = sa.select(model).where(model.id.in_(ids), visible(model, self._actor))
                rows = {row.id: row for row in (await self._execute(statement)).scalars()}
                return [rows.get(key) for key in ids]

            loader = self._by_id[model] = DataLoader(load_fn=load)
        return loader

    def by_fk(self, column: Any, *order_by: Any) -> DataLoader[uuid.UUID, list[Any]]:
        """Visible rows whose `column` equals the key, e.g. contracts by contact id; one
        loader per column and order, so two orders of the same rows never share a cache."""
        cache_key = (column, *(str(o) for o in order_by))
        loader = self._by_fk.get(cache_key)
        if loader is None:
            model = column.class_

            async def load(keys: list[uuid.UUID]) -> list[list[Any]]:
                statement = (
                    sa.select(model)
                    .where(column.in_(keys), visible(model, self._actor))
                    .order_by(*order_by, model.id)
                )
                groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
                for row in (await self._execute(statement)).scalars():
                    groups[getattr(row, column.key)].append(row)
                return [groups.get(key, []) for key in keys]

            loader = self._by_fk[cache_key] = DataLoader(load_fn=load)
        return loader

    def count_by_fk(self, column: Any) -> DataLoader[uuid.UUID, int]:
        """How many visible rows have `column` equal to the key (for `totalCount` and
        member counts): one grouped statement for all keys."""
        loader = self._counts.get(column)
        if loader is None:
            model = column.class_

            async def load(keys: list[uuid.UUID]) -> list[int]:
                statement = (
                    sa.select(column.label("key"), sa.func.count().label("rows"))
                    .where(column.in_(keys), visible(model, self._actor))
                    .group_by(column)
                )
                counts = {row.key: int(row.rows) for row in await self._execute(statement)}
                return [counts.get(key, 0) for key in keys]

            loader = self._counts[column] = DataLoader(load_fn=load)
        return loader

    def readings_by(self, column: Any) -> DataLoader[ReadingsKey, list[models.MeterReading]]:
        """Readings per meter or register (`column`: `MeterReading.meter_id` or
        `.register_id`), newest first, keyed by (parent id, limit, oldest): the newest
        `limit`, or with `oldest` the oldest `limit` (the end of the list, for paging
        backwards). One statement per distinct (limit, oldest) however many parents,
        without loading the readings in between."""
        loader = self._readings.get(column)
        if loader is None:

            async def load(keys: list[ReadingsKey]) -> list[list[models.MeterReading]]:
                by_window: dict[tuple[int, bool], list[uuid.UUID]] = defaultdict(list)
                for parent_id, limit, oldest in keys:
                    by_window[(limit, oldest)].append(parent_id)
                found: dict[ReadingsKey, list[models.MeterReading]] = defaultdict(list)
                for (limit, oldest), parent_ids in by_window.items():
                    for row in await self._ranked_readings(column, parent_ids, limit, oldest):
                        found[(getattr(row, column.key), limit, oldest)].append(row)
                return [found.get(key, []) for key in keys]

            loader = self._readings[column] = DataLoader(load_fn=load)
        return loader

    async def _ranked_readings(
        self, column: Any, parent_ids: Sequence[uuid.UUID], limit: int, oldest: bool
    ) -> Sequence[models.MeterReading]:
        reading = models.MeterReading
        newest_first = (reading.read_at.desc(), reading.id.desc())
        rank = (
            sa.func.row_number()
            .over(
                partition_by=column,
                order_by=(reading.read_at, reading.id) if oldest else newest_first,
            )
            .label("rank")
        )
        # Ranked ids joined back to the table: an `aliased` entity over the subquery would
        # cost more Python per request than the query costs PostgreSQL.
        ranked = (
            sa.select(reading.id, rank)
            .where(column.in_(parent_ids), visible(reading, self._actor))
            .subquery()
        )
        statement = (
            sa.select(reading)
            .join(ranked, ranked.c.id == reading.id)
            .where(ranked.c.rank <= limit)
            .order_by(column, *newest_first)
        )
        return (await self._execute(statement)).scalars().all()

    @property
    def totp_enabled(self) -> DataLoader[uuid.UUID, bool]:
        """Whether portal users (already scoped rows) have a confirmed TOTP."""
        if self._totp_enabled is None:
            user = models.PortalUser

            async def load(user_ids: list[uuid.UUID]) -> list[bool]:
                enabled = two_factor.enabled_condition(None, user.id)
                statement = sa.select(user.id).where(user.id.in_(user_ids), enabled)
                found = set((await self._execute(statement)).scalars())
                return [user_id in found for user_id in user_ids]

            self._totp_enabled = DataLoader(load_fn=load)
        return self._totp_enabled

    @property
    def portal_version(self) -> DataLoader[tuple[uuid.UUID, int], models.PortalVersion | None]:
        """A portal's version row by (portal id, version number), e.g. the published one."""
        if self._portal_versions is None:
            model = models.PortalVersion

            async def load(
                keys: list[tuple[uuid.UUID, int]],
            ) -> list[models.PortalVersion | None]:
                statement = sa.select(model).where(
                    sa.tuple_(model.portal_id, model.version).in_(keys),
                    visible(model, self._actor),
                )
                result = await self._execute(statement)
                rows = {(v.portal_id, v.version): v for v in result.scalars()}
                return [rows.get(key) for key in keys]

            self._portal_versions = DataLoader(load_fn=load)
        return self._portal_versions

    async def all_visible(self, model: type[Any], *order_by: Any, limit: int = 100) -> list[Any]:
        """Every row of `model` the actor sees (at most `limit`), in order; one statement
        per model, order and limit in a request, however many fields ask for them."""
        key = (model, *(str(o) for o in order_by), limit)
        task = self._all_visible.get(key)
        if task is None:
            table: Any = model
            statement = (
                sa.select(model)
                .where(visible(model, self._actor))
                .order_by(*order_by, table.id)
                .limit(limit)
            )
            task = self._all_visible[key] = asyncio.ensure_future(self._rows(statement))
        return await task

    async def _rows(self, statement: Executable) -> list[Any]:
        return list((await self._execute(statement)).scalars())
