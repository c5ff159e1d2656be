"""After a database outage the aiokafka path resumes from the offsets the database holds (issue 16 §2, the
durability gap): a real SQLite file set back to an earlier copy stands for a PostgreSQL without synchronous_commit
that lost acknowledged commits in a crash. No broker: the consumer is the unit tests' fake."""
from __future__ import annotations

import sqlite3

from engine.bootstrap import bootstrap
from engine.settings import EngineSettings
from streams import service as service_module
from tests.support.events import person_with_referral
from tests.support.outage import database_down
from tests.support.polling import wait_until_async
from tests.unit.streams.test_consumer import FakeConsumer, _applied, _send, _worker, running


async def test_after_a_database_outage_the_stream_resumes_from_the_offsets_the_database_still_holds(
        tmp_path, monkeypatch):
    """A PostgreSQL without synchronous_commit that crashes loses transactions it acknowledged. Here a SQLite
    file is set back to an earlier copy (the lost commits) during an outage: the worker re-reads the offsets
    and applies the lost events again, instead of carrying on from its position in memory."""
    monkeypatch.setattr(service_module, "BACKOFF_S", (0.0,))
    path = tmp_path / "engine.db"
    engine = bootstrap(EngineSettings(database_url=f"sqlite:///{path}", allocator="current-practice"))
    worker = _worker(tmp_path, engine)
    fake = FakeConsumer(worker.settings.inbound_topics)
    worker.inbound.consumer = fake
    first, lost, later = (person_with_referral(f"X00000{n}") for n in (1, 2, 3))
    try:
        _send(worker, fake, first)
        await worker.inbound.on_partitions_assigned(fake.assignment())
        async with running(worker):
            await wait_until_async(lambda: _applied(worker, len(first)), timeout=10)
            snapshot = sqlite3.connect(tmp_path / "before-crash.db", check_same_thread=False)
            with sqlite3.connect(path) as live:
                live.backup(snapshot)  # what the database still holds after its crash
            held = await worker.service.offsets()
            _send(worker, fake, lost)
            await wait_until_async(lambda: _applied(worker, len(first + lost)), timeout=10)

            def crash() -> None:  # the commits of `lost` are gone
                with sqlite3.connect(path) as live:
                    snapshot.backup(live)

            database_down(monkeypatch, worker.service, probes=1, on_failure=crash)
            fake.seeks.clear()
            _send(worker, fake, later)
            total = len(first + lost + later)
            await wait_until_async(lambda: _applied(worker, total), timeout=20)
        assert worker.inbound.resyncs == 1
        held_at = sorted((t, held.get((t, 0), -1) + 1) for t in worker.settings.inbound_topics)
        topics = len(worker.settings.inbound_topics)
        assert sorted(fake.seeks[:topics]) == held_at  # the re-sync: every partition at the database's offset
        # a fetch under way during the re-sync is dropped and rewinds its partitions to the same offsets
        assert set(fake.seeks[topics:]) <= set(held_at)
        q = engine.queries()
        try:
            referrals = {row["referral_id"] for row in q.canonical_state()["referrals"]}
        finally:
            q.close()
        assert referrals == {"REF-X000001", "REF-X000002", "REF-X000003"}
        assert worker.service.stats.ingest.dead_lettered == 0 and worker.service.stats.isolated == 0
        snapshot.close()
    finally:
        worker.service.close()
