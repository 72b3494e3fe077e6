"""The updaters fetch the feeds from a local HTTP server into the advisory store (SQLite
and PostgreSQL); a failed feed keeps its previous set; ``vulndb export``/``import`` round
trip the tables."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.feeds import FeedServer, settings_for, write_feeds
from support.registry import cargohold_command, server_environment

from cargohold.app import feed_sources
from cargohold.config import async_database_url, load_settings
from cargohold.content.advisories import REMATCH_JOB, AdvisoryStore
from cargohold.db.session import Database
from cargohold.scanner.image_matching import LookupKey
from cargohold.scanner.updaters import FeedSources, http_client, update_feeds
from cargohold.workers import queue

from .test_feeds import OSV


@dataclass
class Feeds:
    server: FeedServer
    sources: FeedSources


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[Feeds]:
    write_feeds(tmp_path / "feeds")
    with FeedServer(tmp_path / "feeds") as server:
        settings = load_settings(data_dir=tmp_path, **settings_for(server.url))
        yield Feeds(server, feed_sources(settings))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AdvisoryStore]:
    url = async_database_url(database_url)
    db = Database(url)
    yield AdvisoryStore(db)
    await db.dispose()


URLLIB3 = LookupKey("pypi", "", "", "urllib3")
GLIBC_BOOKWORM = LookupKey("dpkg", "debian", "bookworm", "glibc")
LOG4J_CORE = LookupKey("maven", "", "", "org.apache.logging.log4j:log4j-core")


async def update(store: AdvisoryStore, sources: FeedSources) -> tuple[dict[str, int], set[str]]:
    async with http_client(10) as client:
        report = await update_feeds(store, sources, client)
    return report.stored, set(report.failed)


async def test_every_feed_is_fetched_and_stored(store: AdvisoryStore, feeds: Feeds) -> None:
    stored, failed = await update(store, feeds.sources)

    assert failed == set()
    assert set(stored) == {
        "debian-security-tracker", "alpine-secdb", "osv:PyPI", "osv:npm", "osv:Go", "osv:Maven",
    }
    assert await store.sources() == stored
    found = await store.candidates([URLLIB3, GLIBC_BOOKWORM, LOG4J_CORE])
    assert {a.id for a in found[URLLIB3]} == {"GHSA-wqvq-5m8c-6g24", "PYSEC-2020-148"}
    (log4shell,) = found[LOG4J_CORE]  # GitHub's three entries, one per fixed branch
    assert [r.events[-1].version for r in log4shell.ranges] == ["2.15.0", "2.3.1", "2.12.2"]
    assert "CVE-2023-4911" in {a.id for a in found[GLIBC_BOOKWORM]}
    assert await queue.pending(store.db, REMATCH_JOB) == 1


async def test_a_failed_feed_keeps_its_previous_set(store: AdvisoryStore, feeds: Feeds) -> None:
    before, _ = await update(store, feeds.sources)
    (feeds.server.directory / "alpine" / "v3.19" / "main.json").unlink()
    (feeds.server.directory / "osv" / "npm" / "all.zip").write_bytes(b"not a zip")

    stored, failed = await update(store, feeds.sources)

    assert failed == {"alpine-secdb", "osv:npm"}
    assert await store.sources() == before
    assert stored["osv:PyPI"] == before["osv:PyPI"]


async def test_an_update_replaces_the_feed_set(store: AdvisoryStore, feeds: Feeds) -> None:
    await update(store, feeds.sources)
    new_record = json.loads((OSV / "GHSA-wqvq-5m8c-6g24.json").read_bytes())
    new_record["id"] = "GHSA-test-0000-0000"
    write_feeds(feeds.server.directory, {"PyPI": [json.dumps(new_record).encode()]})
    (feeds.server.directory / "osv" / "Go" / "all.zip").write_bytes(
        (feeds.server.directory / "osv" / "npm" / "all.zip").read_bytes()
    )

    await update(store, feeds.sources)

    found = await store.candidates([URLLIB3, LookupKey("go", "", "", "golang.org/x/text")])
    assert "GHSA-test-0000-0000" in {a.id for a in found[URLLIB3]}
    assert LookupKey("go", "", "", "golang.org/x/text") not in found


async def test_export_then_import_gives_the_same_tables(
    store: AdvisoryStore, feeds: Feeds
) -> None:
    await update(store, feeds.sources)
    exported = [line async for line in store.export_lines()]
    for source in await store.sources():
        await store.replace_feed(source, [])
    assert await store.sources() == {}

    counts = await store.import_lines(exported)

    assert sum(counts.values()) == len(exported)
    assert [line async for line in store.export_lines()] == exported


def test_vulndb_commands_round_trip_a_snapshot(database_url: str, tmp_path: Path) -> None:
    write_feeds(tmp_path / "feeds")
    with FeedServer(tmp_path / "feeds") as server:
        config = tmp_path / "config.yaml"
        config.write_text(json.dumps({"database_url": database_url, **settings_for(server.url)}))

        def vulndb(*args: str) -> dict[str, object]:
            done = subprocess.run(
                [*cargohold_command(), "vulndb", *args, "--config", str(config),
                 "--data-dir", str(tmp_path / "data")],
                capture_output=True, text=True, timeout=120, env=server_environment(),
                check=False,
            )
            assert done.returncode == 0, done.stderr
            result: dict[str, object] = json.loads(done.stdout)
            return result

        updated = vulndb("update")
        vulndb("export", str(tmp_path / "snapshot.jsonl"))
        imported = vulndb("import", str(tmp_path / "snapshot.jsonl"))
        status = vulndb("status")

    assert imported["imported"] == updated["stored"] == status["advisories"]
    lines = (tmp_path / "snapshot.jsonl").read_text().splitlines()
    assert len(lines) == sum(status["advisories"].values())  # type: ignore[union-attr]
    assert json.loads(lines[0])["source"] in updated["stored"]  # type: ignore[operator]
