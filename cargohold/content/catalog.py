"""The list of repositories, in pages."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from cargohold.content.pagination import Page, PageRequest
from cargohold.db.models import Repository
from cargohold.db.session import Database


class CatalogService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, page: PageRequest, visible: ColumnElement[bool] | None = None) -> Page:
        """Repository names in lexical order after ``page.last``; only those matching
        ``visible`` (a condition on ``Repository``) when given."""
        async with self.db.read() as session:
            query = select(Repository.name).order_by(Repository.name).limit(page.limit + 1)
            if visible is not None:
                query = query.where(visible)
            if page.last is not None:
                query = query.where(Repository.name > page.last)
            names = list((await session.execute(query)).scalars())
        return Page.from_rows(names, page)
