"""The few statements whose SQL differs between SQLite and PostgreSQL, one function each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# PostgreSQL's advisory lock on a pair of 32-bit integers, held until the transaction ends.
_TRANSACTION_LOCK = select(
    func.pg_advisory_xact_lock(bindparam("space", type_=Integer), bindparam("key", type_=Integer))
)


async def lock_for_transaction(session: AsyncSession, space: int, key: int) -> None:
    """Hold an exclusive lock on the pair (``space``, ``key``) of 32-bit signed integers
    until the transaction ends; it names nothing stored, so the callers agree on what a
    pair stands for. SQLite's write transactions are already serialized (``BEGIN
    IMMEDIATE``), so nothing is sent there."""
    if session.get_bind().dialect.name == "sqlite":
        return
    await session.execute(_TRANSACTION_LOCK, {"space": space, "key": key})


async def insert_ignoring_conflicts(
    session: AsyncSession, model: type[DeclarativeBase], rows: list[dict[str, Any]]
) -> None:
    """INSERT ``rows`` (each naming the same columns), silently skipping any that would
    violate a unique constraint."""
    if not rows:
        return
    # The rows go as parameters, not in the statement (``.values(rows)``): such a statement
    # has no cache key, so SQLAlchemy compiled it anew on every call (~0.15 ms).
    await session.execute(_insert(session, model).on_conflict_do_nothing(), rows)


async def insert_returning_id(
    session: AsyncSession, model: type[DeclarativeBase], row: dict[str, Any]
) -> int | None:
    """INSERT ``row`` and return its ``id``; None when it conflicts with a unique
    constraint (a concurrent writer made it first: on PostgreSQL this waits for that
    writer's transaction to end)."""
    statement = _insert(session, model).values(row).on_conflict_do_nothing()
    result = await session.execute(statement.returning(model.__table__.c.id))
    inserted: int | None = result.scalar_one_or_none()
    return inserted


async def insert_or_update(
    session: AsyncSession,
    model: type[DeclarativeBase],
    row: dict[str, Any],
    conflict_columns: list[str],
    updates: dict[str, Any],
) -> None:
    """INSERT ``row``; when it conflicts on the unique ``conflict_columns``, UPDATE the
    existing row with ``updates`` instead (values or SQL expressions on the model's
    columns; ``excluded`` values are not offered, to keep one spelling for both)."""
    statement = _insert(session, model).values(row)
    statement = statement.on_conflict_do_update(index_elements=conflict_columns, set_=updates)
    await session.execute(statement)


def _insert(session: AsyncSession, model: type[DeclarativeBase]) -> Any:
    """An INSERT into ``model``'s table in the session's dialect, which offers
    ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    table = model.__table__
    assert isinstance(table, Table)
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
