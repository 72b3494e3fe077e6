"""Updaters: fetch the public advisory feeds and hand each feed's set to a sink.

Feeds (the sink's ``source`` key in brackets):

- the Debian security tracker's JSON [``debian-security-tracker``];
- Alpine's secdb, one document per release and repository, stored as one set
  [``alpine-secdb``];
- OSV, one ``all.zip`` per ecosystem [``osv:<ecosystem>``, e.g. ``osv:PyPI``].

A feed is replaced only when all of its documents were fetched and parsed: a failed
fetch keeps the previous set (the error is logged and returned), so a network hiccup
never empties the database. URLs are configurable (defaults: the public feeds), so that a
mirror or a test server can stand in. Parsing runs on a worker thread (the Debian
tracker's JSON is tens of megabytes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from cargohold.scanner.advisory import Advisory
from cargohold.scanner.errors import FeedError
from cargohold.scanner.feeds.alpine import FEED as ALPINE_FEED
from cargohold.scanner.feeds.alpine import parse_alpine_secdb
from cargohold.scanner.feeds.debian import FEED as DEBIAN_FEED
from cargohold.scanner.feeds.debian import parse_debian_tracker
from cargohold.scanner.feeds.osv import parse_osv_zip

log = logging.getLogger(__name__)

DEBIAN_TRACKER_URL = "https://security-tracker.debian.org/tracker/data/json"
ALPINE_SECDB_URL = "https://secdb.alpinelinux.org/{release}/{repository}.json"
OSV_ZIP_URL = "https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip"
"""The public feeds (``config`` repeats them as the settings' defaults)."""


class AdvisorySink(Protocol):
    """Where fetched advisories go: ``replace_feed`` swaps one feed's whole set."""

    async def replace_feed(self, source: str, advisories: Sequence[Advisory]) -> int: ...


@dataclass(frozen=True, slots=True)
class FeedSources:
    """Which feeds to fetch and from where; an empty URL turns a feed off."""

    debian_url: str = DEBIAN_TRACKER_URL
    alpine_url: str = ALPINE_SECDB_URL
    alpine_releases: tuple[str, ...] = ("v3.19", "v3.20", "v3.21")
    alpine_repositories: tuple[str, ...] = ("main", "community")
    osv_url: str = OSV_ZIP_URL
    osv_ecosystems: tuple[str, ...] = ("PyPI", "npm", "Go", "Maven")


@dataclass(slots=True)
class UpdateReport:
    """Advisories stored per feed, and the feeds that failed (with why)."""

    stored: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Feed:
    source: str
    urls: tuple[str, ...]
    parse: Callable[[bytes], list[Advisory]]


def planned_feeds(sources: FeedSources) -> list[_Feed]:
    """The feeds ``sources`` asks for, each with its document URLs and parser."""
    feeds = []
    if sources.debian_url:
        feeds.append(_Feed(DEBIAN_FEED, (sources.debian_url,), parse_debian_tracker))
    if sources.alpine_url and sources.alpine_releases:
        urls = tuple(
            sources.alpine_url.format(release=release, repository=repository)
            for release in sources.alpine_releases
            for repository in sources.alpine_repositories
        )
        feeds.append(_Feed(ALPINE_FEED, urls, parse_alpine_secdb))
    if sources.osv_url:
        for ecosystem in sources.osv_ecosystems:
            url = sources.osv_url.format(ecosystem=ecosystem)
            feeds.append(_Feed(f"osv:{ecosystem}", (url,), parse_osv_zip))
    return feeds


async def update_feeds(
    sink: AdvisorySink, sources: FeedSources, client: httpx.AsyncClient
) -> UpdateReport:
    """Fetch every feed of ``sources`` with ``client`` and replace its set in ``sink``."""
    report = UpdateReport()
    for feed in planned_feeds(sources):
        try:
            advisories = await _fetch_feed(feed, client)
        except (httpx.HTTPError, FeedError) as exc:
            log.warning(
                "advisory feed not updated",
                extra={"fields": {"feed": feed.source, "error": str(exc)}},
            )
            report.failed[feed.source] = str(exc)
            continue
        report.stored[feed.source] = await sink.replace_feed(feed.source, advisories)
        log.info(
            "advisory feed updated",
            extra={"fields": {"feed": feed.source, "advisories": report.stored[feed.source]}},
        )
    return report


def http_client(timeout_seconds: float = 300.0) -> httpx.AsyncClient:
    """The HTTP client updaters use: redirects followed, a generous read timeout."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=30.0),
        follow_redirects=True,
        headers={"User-Agent": "cargohold-vulndb-updater"},
    )


async def _fetch_feed(feed: _Feed, client: httpx.AsyncClient) -> list[Advisory]:
    advisories: list[Advisory] = []
    for url in feed.urls:
        response = await client.get(url)
        response.raise_for_status()
        advisories += await asyncio.to_thread(feed.parse, response.content)
    return advisories
