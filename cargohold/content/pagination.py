"""Listing by name in pages, as ``/tags/list`` and ``/_catalog`` do: ``n`` and ``last``."""

from __future__ import annotations

from dataclasses import dataclass

from cargohold.errors import RegistryError

MAX_PAGE_SIZE = 10_000


class PaginationInvalid(RegistryError):
    code = "PAGINATION_NUMBER_INVALID"
    default_message = "invalid number of results requested"


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``limit`` items whose name sorts after ``last`` (from the start when None)."""

    limit: int
    last: str | None

    @classmethod
    def parse(cls, n: str | None, last: str | None) -> PageRequest:
        """From the query parameters; ``n`` absent means the largest page."""
        if n is None or n == "":
            return cls(MAX_PAGE_SIZE, last or None)
        if not n.isdigit():
            raise PaginationInvalid(f"n must be a non-negative integer, got {n!r}")
        return cls(min(int(n), MAX_PAGE_SIZE), last or None)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of names, and whether more follow the last one."""

    names: list[str]
    has_more: bool

    @classmethod
    def from_rows(cls, names: list[str], request: PageRequest) -> Page:
        """``names`` fetched with ``LIMIT request.limit + 1``."""
        return cls(names[: request.limit], len(names) > request.limit)
