"""The live tags of a repository (not expired: ``tag_history.alive_at``), in pages."""

from __future__ import annotations

from sqlalchemy import select

from cargohold.content.pagination import Page, PageRequest
from cargohold.content.repositories import require_repository_id
from cargohold.content.tag_history import alive_at
from cargohold.db.models import Tag, utcnow
from cargohold.db.session import Database


class TagService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, repository: str, page: PageRequest) -> Page:
        """Live tag names in lexical order after ``page.last``; ``NameUnknown`` for a
        repository that does not exist."""
        async with self.db.read() as session:
            repository_id = await require_repository_id(session, repository)
            query = (
                select(Tag.name)
                .where(Tag.repository_id == repository_id, alive_at(utcnow()))
                .order_by(Tag.name)
                .limit(page.limit + 1)
            )
            if page.last is not None:
                query = query.where(Tag.name > page.last)
            names = list((await session.execute(query)).scalars())
        return Page.from_rows(names, page)
