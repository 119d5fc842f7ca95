"""The session file: exact round trip, owner-only permissions, integrity, clear errors."""
from __future__ import annotations

import sqlite3
import stat

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import biofeed as bf
from biofeed.clock import SessionClock
from biofeed.record.reader import SessionFileError, find_gaps
from biofeed.record.schema import APPLICATION_ID, SCHEMA_VERSION
from biofeed.record.writer import RecorderError, SessionRecorder
from biofeed.stream import Chunk, Event, StreamInfo

ECG = StreamInfo("ecg", "ecg", "mV", 250.0, ("ECG",), "test")
ACC = StreamInfo("acc", "acc", "g", 50.0, ("x", "y", "z"), "test")
RR = StreamInfo("ecg.rr", "rr", "ms", 0.0, ("rr_ms",), "test", derived=True)


def _record(tmp_path, chunks, events=(), participant="P01"):
    clock = SessionClock()
    clock.start()
    rec = SessionRecorder(tmp_path, participant=participant, devices=[{"id": "test"}])
    rec.start(clock, [ECG, ACC, RR])
    for c in chunks:
        rec.write(c)
    for e in events:
        rec.event(e)
    rec.close(12.5, "end of session")
    return rec.path


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    ecg_parts = [rng.normal(size=n) for n in (25, 1, 250, 0, 37)]
    acc_parts = [rng.normal(size=(n, 3)) for n in (5, 50)]
    rr_times = np.array([0.81, 1.62, 2.41])
    chunks, t = [], 0.0
    for part in ecg_parts:
        chunks.append(Chunk(ECG, part, t0=t))
        t += len(part) / 250.0
    chunks += [Chunk(ACC, acc_parts[0], t0=0.0), Chunk(ACC, acc_parts[1], t0=0.1)]
    chunks.append(Chunk(RR, [810.0, 810.0, 790.0], t0=0.81, timestamps=rr_times))
    events = [Event(1, 0.0, 60.0, "baseline", "phase", {"stressor": False}),
              Event(2, 60.0, 60.0, "stressor", "phase", {"stressor": True}),
              Event(2, 60.0, 12.5, "stressor", "phase", {"truncated": True})]   # replaces id 2
    path = _record(tmp_path, chunks, events)

    rec = bf.read(path)
    ecg = rec.signals["ecg"]
    assert np.array_equal(ecg.values, np.concatenate(ecg_parts))
    np.testing.assert_allclose(ecg.times, np.arange(len(ecg.values)) / 250.0, rtol=0, atol=1e-12)
    assert ecg.fs == 250.0 and ecg.unit == "mV"
    acc = rec.signals["acc"]
    assert acc.values.shape == (55, 3) and np.array_equal(acc.values, np.concatenate(acc_parts))
    assert acc.channels == ("x", "y", "z")
    rr = rec.signals["ecg.rr"]
    assert np.array_equal(rr.times, rr_times) and np.array_equal(rr.values, [810.0, 810.0, 790.0])
    assert rec.streams["ecg.rr"].derived
    assert list(rec.events.label) == ["baseline", "stressor"]
    assert rec.events.duration.tolist() == [60.0, 12.5]
    assert rec.events.payload[1] == {"truncated": True}
    assert rec.complete and rec.meta["duration_s"] == 12.5 and rec.meta["participant"] == "P01"
    assert rec.gaps("ecg") == [] and rec.gaps("acc") == []


def test_file_is_owner_only_and_named_without_participant(tmp_path):
    path = _record(tmp_path, [Chunk(ECG, np.zeros(10), t0=0.0)], participant="Jane-Doe")
    assert _mode(path) == 0o600
    assert "Jane" not in path.name and path.suffix == ".biofeed"
    for sidecar in path.parent.glob(path.name + "-*"):
        assert _mode(sidecar) == 0o600


def test_file_is_marked_and_passes_integrity_check(tmp_path):
    path = _record(tmp_path, [Chunk(ECG, np.zeros(10), t0=0.0)])
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"     # WAL while recording
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_a_closed_session_is_one_file_and_reading_it_adds_none(tmp_path):
    """Closed cleanly, the file leaves WAL mode: it can be copied alone, and a reader puts no
    -wal/-shm beside it (so a read-only archive folder reads too)."""
    path = _record(tmp_path, [Chunk(ECG, np.arange(10.0), t0=0.0)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    rec = bf.read(path)
    np.testing.assert_array_equal(rec.signals["ecg"].values, np.arange(10.0))
    assert rec.verify() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_never_overwrites_an_existing_recording(tmp_path, monkeypatch):
    path = _record(tmp_path, [Chunk(ECG, np.ones(5), t0=0.0)])
    monkeypatch.setattr("biofeed.record.writer.new_session_path", lambda *a: path)
    clock = SessionClock()
    clock.start()
    with pytest.raises(RecorderError, match="never overwrites"):
        SessionRecorder(tmp_path).start(clock, [ECG])
    assert np.array_equal(bf.read(path).signals["ecg"].values, np.ones(5))


def test_reader_names_the_file_and_the_problem(tmp_path):
    not_sqlite = tmp_path / "notes.biofeed"
    not_sqlite.write_text("hello")
    with pytest.raises(SessionFileError, match="notes.biofeed: not a biofeed session file"):
        bf.read(not_sqlite)
    other_db = tmp_path / "other.biofeed"
    sqlite3.connect(other_db).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(SessionFileError, match=r"other.biofeed: not a biofeed session file \(application_id 0x0"):
        bf.read(other_db)
    with pytest.raises(SessionFileError, match="missing.biofeed: no such session file"):
        bf.read(tmp_path / "missing.biofeed")


def test_gaps_are_found_from_chunk_times():
    t0 = np.array([0.0, 1.0, 5.0, 6.0])
    n = np.array([250, 250, 250, 250])
    assert find_gaps(t0, n, 250.0) == [(2.0, 5.0)]
    assert find_gaps(np.array([0.0, 1.002]), np.array([250, 250]), 250.0) == []


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=12), seed=st.integers(0, 2**31))
def test_any_chunking_round_trips(tmp_path_factory, sizes, seed):
    rng = np.random.default_rng(seed)
    parts = [rng.normal(scale=1e3, size=n) for n in sizes]
    chunks, t = [], 0.0
    for p in parts:
        chunks.append(Chunk(ECG, p, t0=t))
        t += len(p) / 250.0
    path = _record(tmp_path_factory.mktemp("s"), chunks)
    sig = bf.read(path).signals["ecg"]
    assert np.array_equal(sig.values, np.concatenate(parts))
