"""The advisory store: vulnerability advisories kept in the metadata database.

Feeds are replaced whole: ``replace_feed(source, advisories)`` swaps a feed's set in one
transaction, so matching never sees half of an update, and enqueues one re-match of every
stored image index (``REMATCH_JOB``). ``candidates`` answers the matcher's lookups:
OS packages by (distribution, release, source package), language packages by
(ecosystem, normalised name). ``export_lines`` / ``import_lines`` move the tables as
JSON lines, one advisory per line, for air-gapped installs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, tuple_

from cargohold.db.models import utcnow
from cargohold.db.scanner_models import AdvisoryRow
from cargohold.db.session import Database
from cargohold.scanner.advisory import Advisory
from cargohold.scanner.image_matching import LookupKey, lookup_key
from cargohold.scanner.severity import CvssScore, Severity
from cargohold.scanner.versions import Ecosystem, EventKind, RangeEvent, RangeType, VersionRange
from cargohold.workers import queue

REMATCH_JOB = "rematch-advisories"
"""The work queue's job kind that matches every stored index again (key ``all``)."""

UPDATE_JOB = "vulndb-update"
"""The work queue's job kind that runs the updaters (key ``all``), rescheduled each run."""

_BATCH = 500


class AdvisoryStore:
    """Read and replace the stored advisories."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace_feed(self, source: str, advisories: Sequence[Advisory]) -> int:
        """Make ``advisories`` the whole set of feed ``source``, atomically; queue a
        re-match. Returns how many are stored (duplicates by identity collapse)."""
        rows = _unique_rows(advisories, source)
        async with self.db.write() as session:
            await session.execute(delete(AdvisoryRow).where(AdvisoryRow.source == source))
            for start in range(0, len(rows), _BATCH):
                await session.execute(insert(AdvisoryRow), rows[start : start + _BATCH])
            await queue.enqueue(session, REMATCH_JOB, "all")
        return len(rows)

    async def schedule_update(self, not_before: datetime | None, *, if_absent: bool) -> None:
        """Queue a run of the updaters at ``not_before`` (now when None); ``if_absent``
        leaves an already scheduled run alone (each process calls this at start)."""
        async with self.db.write() as session:
            if if_absent:
                await queue.enqueue_if_absent(session, UPDATE_JOB, "all", not_before)
            else:
                await queue.enqueue(session, UPDATE_JOB, "all", not_before)

    async def sources(self) -> dict[str, int]:
        """Each stored feed and its number of advisories."""
        async with self.db.read() as session:
            rows = (await session.execute(select(AdvisoryRow.source))).scalars().all()
        counts: dict[str, int] = defaultdict(int)
        for source in rows:
            counts[source] += 1
        return dict(counts)

    async def candidates(self, keys: Iterable[LookupKey]) -> dict[LookupKey, list[Advisory]]:
        """The stored advisories for each of ``keys`` (missing keys have none)."""
        wanted = sorted(
            set(keys), key=lambda k: (k.ecosystem, k.distribution, k.release, k.package)
        )
        found: dict[LookupKey, list[Advisory]] = defaultdict(list)
        columns = tuple_(
            AdvisoryRow.ecosystem,
            AdvisoryRow.distribution,
            AdvisoryRow.release,
            AdvisoryRow.package_key,
        )
        async with self.db.read() as session:
            for start in range(0, len(wanted), _BATCH):
                chunk = [
                    (k.ecosystem, k.distribution, k.release, k.package)
                    for k in wanted[start : start + _BATCH]
                ]
                rows = (
                    await session.execute(
                        select(AdvisoryRow).where(columns.in_(chunk)).order_by(AdvisoryRow.id)
                    )
                ).scalars()
                for row in rows:
                    key = LookupKey(row.ecosystem, row.distribution, row.release, row.package_key)
                    found[key].append(advisory_from_row(row))
        return dict(found)

    async def export_lines(self) -> AsyncIterator[str]:
        """Every stored advisory as one JSON line (no newline), by source and id."""
        async with self.db.read() as session:
            result = await session.stream_scalars(
                select(AdvisoryRow).order_by(AdvisoryRow.source, AdvisoryRow.id)
            )
            async for row in result:
                yield json.dumps(advisory_to_json(advisory_from_row(row)), sort_keys=True)

    async def import_lines(self, lines: Iterable[str]) -> dict[str, int]:
        """Replace each feed that ``lines`` (``export_lines``' output) holds with what they
        hold; feeds absent from ``lines`` stay. Returns the count stored per feed."""
        by_source: dict[str, list[Advisory]] = defaultdict(list)
        for line in lines:
            if line.strip():
                advisory = advisory_from_json(json.loads(line))
                by_source[advisory.source].append(advisory)
        return {
            source: await self.replace_feed(source, items) for source, items in by_source.items()
        }


def _unique_rows(advisories: Iterable[Advisory], source: str) -> list[dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    now = utcnow()
    for advisory in advisories:
        row = advisory_to_row(advisory)
        row.update(source=source, modified=now)
        identity = tuple(
            str(row[c]) for c in ("advisory_id", "ecosystem", "distribution", "release", "package")
        )
        rows[identity] = row
    return list(rows.values())


def advisory_to_row(advisory: Advisory) -> dict[str, Any]:
    """The ``advisory`` table's columns for ``advisory``."""
    key = lookup_key(advisory)
    data = advisory_to_json(advisory)
    return {
        "source": advisory.source,
        "advisory_id": advisory.id,
        "aliases": json.dumps(data["aliases"]),
        "ecosystem": key.ecosystem,
        "distribution": key.distribution,
        "release": key.release,
        "package": advisory.package,
        "package_key": key.package,
        "ranges": json.dumps(data["ranges"]),
        "versions": json.dumps(data["versions"]),
        "severity": int(advisory.severity),
        "cvss_version": advisory.cvss.version if advisory.cvss else None,
        "cvss_vector": advisory.cvss.vector if advisory.cvss else None,
        "cvss_score": advisory.cvss.base_score if advisory.cvss else None,
        "summary": advisory.summary,
        "links": json.dumps(data["links"]),
    }


def advisory_from_row(row: AdvisoryRow) -> Advisory:
    """The ``Advisory`` a row of the ``advisory`` table holds."""
    cvss = (
        CvssScore(row.cvss_version, row.cvss_vector, row.cvss_score)
        if row.cvss_version and row.cvss_vector and row.cvss_score is not None
        else None
    )
    return Advisory(
        id=row.advisory_id,
        ecosystem=Ecosystem(row.ecosystem),
        package=row.package,
        ranges=_ranges_from_json(json.loads(row.ranges)),
        source=row.source,
        aliases=tuple(json.loads(row.aliases)),
        distribution=row.distribution or None,
        release=row.release or None,
        versions=tuple(json.loads(row.versions)),
        severity=Severity(row.severity),
        cvss=cvss,
        summary=row.summary,
        links=tuple(json.loads(row.links)),
    )


def advisory_to_json(advisory: Advisory) -> dict[str, Any]:
    """A JSON object for ``advisory`` that ``advisory_from_json`` reads back unchanged."""
    return {
        "id": advisory.id,
        "ecosystem": advisory.ecosystem.value,
        "package": advisory.package,
        "ranges": [
            {"type": r.type.value, "events": [{e.kind.value: e.version} for e in r.events]}
            for r in advisory.ranges
        ],
        "source": advisory.source,
        "aliases": list(advisory.aliases),
        "distribution": advisory.distribution,
        "release": advisory.release,
        "versions": list(advisory.versions),
        "severity": advisory.severity.label,
        "cvss": (
            {
                "version": advisory.cvss.version,
                "vector": advisory.cvss.vector,
                "base_score": advisory.cvss.base_score,
            }
            if advisory.cvss
            else None
        ),
        "summary": advisory.summary,
        "links": list(advisory.links),
    }


def advisory_from_json(data: dict[str, Any]) -> Advisory:
    """Read what ``advisory_to_json`` wrote (``KeyError``/``ValueError`` if not that)."""
    cvss = data.get("cvss")
    return Advisory(
        id=data["id"],
        ecosystem=Ecosystem(data["ecosystem"]),
        package=data["package"],
        ranges=_ranges_from_json(data["ranges"]),
        source=data["source"],
        aliases=tuple(data.get("aliases", ())),
        distribution=data.get("distribution"),
        release=data.get("release"),
        versions=tuple(data.get("versions", ())),
        severity=Severity[str(data.get("severity", "Unknown")).upper()],
        cvss=CvssScore(cvss["version"], cvss["vector"], float(cvss["base_score"]))
        if cvss
        else None,
        summary=data.get("summary", ""),
        links=tuple(data.get("links", ())),
    )


def _ranges_from_json(items: list[dict[str, Any]]) -> tuple[VersionRange, ...]:
    return tuple(
        VersionRange(
            RangeType(item["type"]),
            tuple(
                RangeEvent(EventKind(kind), version)
                for event in item["events"]
                for kind, version in event.items()
            ),
        )
        for item in items
    )
