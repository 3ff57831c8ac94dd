"""Call records through SQLAlchemy on SQLite (WAL) and on PostgreSQL, with the real migrations."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from workorders.calls import CallStore
from workorders.db import make_engine, migrate

PG_ADMIN = os.environ.get("HOTLINE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_url() -> Iterator[str]:
    admin = make_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
    name = f"hotline_test_{os.getpid()}"
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CallStore]:
    if request.param == "sqlite":
        url_iter: Iterator[str] = iter([f"sqlite:///{tmp_path / 'sub' / 'h.db'}"])
    else:
        url_iter = _pg_url()
    url = next(url_iter)
    engine = make_engine(url)
    migrate(engine)
    migrate(engine)  # idempotent
    s = CallStore(engine)
    yield s
    s.close()
    engine.dispose()
    next(url_iter, None)


async def test_records_are_written_at_each_step_and_listed_newest_first(store: CallStore) -> None:
    t0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
    a = await store.create(leg_id="a", worker="w1", caller="13800138000", called="12345", arrived_at=t0)
    b = await store.create(leg_id="b", worker="w2", caller="13900000000", called="12345",
                           arrived_at=t0 + dt.timedelta(minutes=5))
    await store.update(a, menu_path="92", emergency_line="119")
    await store.update(a, detail={"x": 1})
    await store.update(a, detail={"y": "二"})
    got = await store.get(a)
    assert got is not None and got["menu_path"] == "92" and got["detail"] == {"x": 1, "y": "二"}
    assert [c["id"] for c in await store.list()] == [b, a]
    since = (t0 + dt.timedelta(minutes=1))
    assert [c["id"] for c in await store.list(since=since)] == [b]
    assert [c["id"] for c in await store.list(until=since)] == [a]
    assert await store.get(999) is None


async def test_unfinished_calls_are_closed_as_failed(store: CallStore) -> None:
    t0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
    a = await store.create(leg_id="a", worker="w1", caller="1", called="12345", arrived_at=t0)
    b = await store.create(leg_id="b", worker="w2", caller="2", called="12345", arrived_at=t0)
    await store.update(b, ended_at=t0, outcome="agent_handled")
    assert await store.close_open("w1", "worker died") == 1
    ra, rb = await store.get(a), await store.get(b)
    assert ra and ra["outcome"] == "failed" and ra["ended_at"]
    assert rb and rb["outcome"] == "agent_handled"


async def test_retention_deletes_old_transcripts_and_records(store: CallStore) -> None:
    old = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    mid = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    new = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    ids = {}
    for name, when in (("old", old), ("mid", mid), ("new", new)):
        ids[name] = await store.create(leg_id=name, worker="w1", caller="13800138000", called="12345", arrived_at=when)
        await store.update(ids[name], detail={"caller_said": "楼下太吵", "agent_1001_missed": True})
        await store.add_utterance(ids[name], "楼下太吵", 0.9, "free", "main")
    # utterances are stamped now; backdate them to their calls
    from sqlalchemy import update as sa_update
    from sqlalchemy.orm import Session

    from workorders.models import Utterance
    with Session(store.engine) as s, s.begin():
        for name, when in (("old", old), ("mid", mid), ("new", new)):
            s.execute(sa_update(Utterance).where(Utterance.call_id == ids[name]).values(at=when))
    said, calls = await store.purge(transcripts_before=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
                                    records_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert (said, calls) == (1, 1)
    assert await store.get(ids["old"]) is None
    mid_rec, new_rec = await store.get(ids["mid"]), await store.get(ids["new"])
    assert mid_rec and mid_rec["utterances"] == [] and mid_rec["detail"] == {"agent_1001_missed": True}
    assert new_rec and [u["text"] for u in new_rec["utterances"]] == ["楼下太吵"] and new_rec["detail"]["caller_said"]
