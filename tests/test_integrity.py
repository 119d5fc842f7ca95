"""Damaged session files: single bit flips and truncations at many offsets of a real recorded
file are either harmless or reported (by stream and time); nothing is read as other numbers,
and nothing but the documented error escapes ``read``, ``info``, ``analyze`` or ``export``."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import biofeed as bf
from biofeed.clock import SessionClock
from biofeed.record.reader import SessionFileError
from biofeed.record.writer import SessionRecorder
from biofeed.stream import Chunk, Event, StreamInfo

ECG = StreamInfo("ecg", "ecg", "mV", 250.0, ("ECG",), "test")
ACC = StreamInfo("acc", "acc", "g", 50.0, ("x", "y", "z"), "test")
RR = StreamInfo("ecg.rr", "rr", "ms", 0.0, ("rr_ms",), "test", derived=True)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A 20 s session: ECG 250 Hz and ACC 50 Hz in 0.2 s chunks, irregular RR, 12 events."""
    rng = np.random.default_rng(4)
    clock = SessionClock()
    clock.start()
    rec = SessionRecorder(tmp_path_factory.mktemp("s"), participant="P01")
    rec.start(clock, [ECG, ACC, RR])
    for k in range(100):
        t0 = k * 0.2
        rec.write(Chunk(ECG, rng.normal(size=50), t0))
        rec.write(Chunk(ACC, rng.normal(size=(10, 3)), t0))
        if k % 4 == 0:
            beats = t0 + np.array([0.1, 0.5])
            rec.write(Chunk(RR, rng.normal(800, 40, 2), float(beats[0]), beats))
    for i in range(12):
        rec.event(Event(i, 1.5 * i, 1.0, f"phase {i}", "phase", {"i": i, "note": "x" * i}))
    rec.close(20.0, "end of session")
    return rec.path


def _same_samples(got, want) -> bool:
    """Every sample of ``got`` is a sample of ``want``: the same time and the same values."""
    idx = np.searchsorted(want.times, got.times)
    if np.any(idx >= len(want.times)):
        return False
    return bool(np.array_equal(want.times[idx], got.times) and np.array_equal(want.values[idx], got.values))


def _check(original, path) -> str:
    """Read ``path`` (a damaged copy of ``original``'s file): every value read equals the
    original's at that time, and whatever is missing or left out is reported.
    Returns ``"refused"``, ``"intact"`` or ``"reported"``."""
    try:
        rec = bf.read(path)
        damage = rec.verify()
        signals = {name: rec.signals[name] for name in rec.streams}
    except SessionFileError as exc:
        assert str(path) in str(exc)
        return "refused"
    lost = False
    for name, sig in signals.items():
        assert rec.streams[name] == original.streams[name]
        want = original.signals[name]
        assert _same_samples(sig, want), f"{name}: times or values that were never recorded"
        lost |= len(sig) < len(want)
    lost |= set(rec.streams) != set(original.streams)
    by_id = {e.id: e for e in original.events.itertuples()}
    for e in rec.events.itertuples():
        o = by_id[e.id]
        assert (e.onset, e.duration, e.label, e.kind, e.payload) == (o.onset, o.duration, o.label,
                                                                     o.kind, o.payload)
    lost |= len(rec.events) < len(original.events)
    for key, value in rec.meta.items():
        assert original.meta[key] == value, key
    lost |= set(rec.meta) != set(original.meta)
    if lost:
        assert damage, "something was lost without a report"
    for d in damage:        # reports say where and, for chunks, when
        if d.where.startswith("stream ") and not math.isnan(d.start_s):
            assert 0 <= d.start_s <= 20.2
    return "reported" if damage else "intact"


def test_an_intact_file_has_no_damage(session):
    rec = bf.read(session)
    assert rec.verify() == [] and rec.integrity_checked
    assert rec._recovered is None               # no leaf-page recovery (no cost) on an intact file
    assert rec.meta["chunks_written"] == {"ecg": 100, "acc": 100, "ecg.rr": 25}
    assert rec.meta["events_written"] == 12


@pytest.mark.slow
def test_every_single_bit_flip_is_harmless_or_reported(session, tmp_path):
    original = bf.read(session)
    data = session.read_bytes()
    rng = np.random.default_rng(1)
    outcomes = {"refused": 0, "intact": 0, "reported": 0}
    path = tmp_path / "flipped.biofeed"
    for offset in range(0, len(data), len(data) // 500):    # 500 bytes across the file, a random bit each
        flipped = bytearray(data)
        flipped[offset] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        outcomes[_check(original, path)] += 1
    assert outcomes["reported"] > 0
    print(outcomes)


@pytest.mark.slow
def test_truncations_are_reported_and_the_rest_reads(session, tmp_path):
    original = bf.read(session)
    data = session.read_bytes()
    path = tmp_path / "cut.biofeed"
    for size in sorted({*range(4096, len(data), len(data) // 40), len(data) - 2289, len(data) - 1}):
        path.write_bytes(data[:size])
        outcome = _check(original, path)        # refused only when nothing in it reads
        assert outcome in ("reported", "refused"), size
        if outcome == "reported":
            assert any("bytes missing at the end" in d.what for d in bf.read(path).damage)
        else:
            with pytest.raises(SessionFileError, match="damaged session file, nothing in it reads"):
                bf.read(path)


def test_a_damaged_chunk_is_a_gap_where_it_was(session, tmp_path):
    import sqlite3
    path = tmp_path / "one.biofeed"
    path.write_bytes(session.read_bytes())
    con = sqlite3.connect(path)
    vals = con.execute("SELECT vals FROM chunks WHERE stream_id = 1 AND seq = 40").fetchone()[0]
    bad = bytes([vals[0] ^ 4]) + vals[1:]
    con.execute("UPDATE chunks SET vals = ? WHERE stream_id = 1 AND seq = 40", (bad,))
    con.commit()
    con.close()
    rec = bf.read(path)
    sig = rec.signals["ecg"]
    assert len(sig) == 99 * 50
    assert rec.gaps("ecg") == [(pytest.approx(8.0), pytest.approx(8.2))]
    (d,) = rec.damage
    assert (d.where, d.start_s, d.end_s) == ("stream ecg", pytest.approx(8.0), pytest.approx(8.2))
    assert "chunk 40 fail" in d.what
    run = subprocess.run([sys.executable, "-m", "biofeed", "verify", str(path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "stream ecg" in run.stdout and "chunk 40" in run.stdout
    run = subprocess.run([sys.executable, "-m", "biofeed", "verify", str(session)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "no damage" in run.stdout, run.stdout + run.stderr
    run = subprocess.run([sys.executable, "-m", "biofeed", "info", str(path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "Damage (1)" in run.stdout and "chunk 40" in run.stdout


def test_a_damaged_schema_version_does_not_turn_the_checks_off(session, tmp_path):
    """The header's version field zeroed (found by the fuzz below) would read as a schema 1
    file, which has no CRCs: a damaged chunk then read as other numbers. The tables' own
    columns say the rows carry CRCs."""
    import sqlite3
    con = sqlite3.connect(session)
    vals = con.execute("SELECT vals FROM chunks WHERE stream_id = 1 AND seq = 40").fetchone()[0]
    con.close()
    data = bytearray(session.read_bytes())
    at = data.index(vals) + 100
    data[at] ^= 0xFF
    data[60:64] = bytes(4)                                 # PRAGMA user_version = 0
    path = tmp_path / "version.biofeed"
    path.write_bytes(bytes(data))
    assert _check(bf.read(session), path) == "reported"
    damage = bf.read(path).verify()
    assert any("schema version is 0" in d.what for d in damage)
    assert any("chunk 40" in d.what for d in damage)


def test_stream_descriptions_lost_with_a_cut_cell_count_are_reported(session, tmp_path):
    """A page whose cell count is cut (found by fuzzing) hides its rows from SQLite without an
    error: the streams table then reads empty. The chunk counts written at the end name every
    stream, so each one lost is reported; the page scan reads every streams and meta row of an
    intact file back."""
    import sqlite3

    from biofeed.record.recover import recover

    original = bf.read(session)
    found = recover(session.read_bytes())
    assert {row[1] for row in found.streams.values()} == set(original.streams)
    assert {key for key in found.meta} == set(original.meta)
    con = sqlite3.connect(session)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'streams'").fetchone()[0]
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(session.read_bytes())
    head = (root - 1) * page + (100 if root == 1 else 0)
    assert data[head] == 0x0D                              # a table leaf: the whole table
    data[head + 3:head + 5] = bytes(2)                     # no cells
    path = tmp_path / "cells.biofeed"
    path.write_bytes(bytes(data))
    assert _check(original, path) == "reported"
    lost = {d.where for d in bf.read(path).verify() if "description is lost" in d.what}
    assert lost == {f"stream {name}" for name in original.streams}


def test_a_text_field_that_reads_back_as_a_blob_is_a_damaged_row(session, tmp_path):
    """A damaged record header can turn a text field into a blob (found by the fuzz below)."""
    import sqlite3
    path = tmp_path / "blob.biofeed"
    path.write_bytes(session.read_bytes())
    con = sqlite3.connect(path)
    con.execute("UPDATE events SET label = CAST(label AS BLOB) WHERE id = 2")
    con.commit()
    con.close()
    rec = bf.read(path)
    assert sorted(rec.events.id) == [i for i in range(12) if i != 2]
    (d,) = rec.damage
    assert d.where == "events" and "row 2 fails its CRC" in d.what


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=16)), min_size=1,
                      max_size=3))
def test_fuzzed_session_files_read_or_give_the_documented_error(session, tmp_path_factory, edits):
    original = bf.read(session)
    data = bytearray(session.read_bytes())
    for where, blob in edits:
        at = int(where * (len(data) - 1))
        data[at:at + len(blob)] = blob
    path = tmp_path_factory.mktemp("fuzz") / "x.biofeed"
    path.write_bytes(bytes(data))
    _check(original, path)


def test_a_damaged_header_page_count_is_not_taken_for_a_truncation(session, tmp_path):
    """A header claiming 2^32 pages (found by the fuzz above): no padding to terabytes, a report."""
    data = bytearray(session.read_bytes())
    data[28:32] = b"\xff\xff\xff\xff"
    path = tmp_path / "header.biofeed"
    path.write_bytes(bytes(data))
    assert _check(bf.read(session), path) in ("refused", "reported")
    try:
        damage = bf.read(path).damage
    except SessionFileError:
        return
    assert any("its header is damaged" in d.what for d in damage)


def _chunk_slices(rec, name) -> list[slice]:
    """The samples of each chunk of a stream, by seq (from its chunk table)."""
    ends = np.cumsum(rec.chunk_table(name)[1])
    return [slice(int(e - n), int(e)) for e, n in zip(ends, rec.chunk_table(name)[1])]


def _page(data: bytes, pgno: int) -> tuple[int, list]:
    """The type of a page of a SQLite file and the records on it."""
    from biofeed.record.recover import geometry, page_cells
    page, usable = geometry(data)
    hdr = (pgno - 1) * page + (100 if pgno == 1 else 0)
    return data[hdr], [f for _, _, f in page_cells(data, pgno, page, usable, len(data) // page)]


def _root(path, table: str) -> int:
    import sqlite3
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("fill", ["zeros", "garbage"])
def test_chunks_under_a_damaged_interior_page_are_recovered_from_the_leaf_pages(session, tmp_path, fill):
    """The root of the chunks B-tree destroyed: SQLite reaches no chunk, the leaf-page recovery
    reads every chunk that was not stored on that page itself, byte-identical. (chunks is a
    WITHOUT ROWID table, an index B-tree: its interior pages, type 0x02, hold rows too, and
    those of the destroyed page are lost and reported.)"""
    import sqlite3
    original = bf.read(session)
    data = bytearray(session.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    root = _root(session, "chunks")
    kind, on_root = _page(bytes(data), root)
    assert kind == 0x02 and len(on_root) <= 2          # an interior page of the chunks index
    lost = {(r[0], r[1]) for r in on_root}
    rng = np.random.default_rng(7)
    data[(root - 1) * page:root * page] = (bytes(page) if fill == "zeros"
                                           else rng.integers(0, 256, page, dtype=np.uint8).tobytes())
    path = tmp_path / "interior.biofeed"
    path.write_bytes(bytes(data))
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.DatabaseError):        # SQLite alone reaches none of them
        con.execute("SELECT count(*) FROM chunks").fetchone()
    con.close()

    rec = bf.read(path)
    damage = rec.verify()
    ids = {name: sid for sid, name in enumerate(original.streams, start=1)}
    for name in original.streams:
        want, got = original.signals[name], rec.signals[name]
        keep = [sl for seq, sl in enumerate(_chunk_slices(original, name)) if (ids[name], seq) not in lost]
        assert got.values.tobytes() == np.concatenate([want.values[sl] for sl in keep]).tobytes()
        assert got.times.tobytes() == np.concatenate([want.times[sl] for sl in keep]).tobytes()
        n_written = original.meta["chunks_written"][name]
        assert len(rec.chunk_table(name)[0]) == n_written - sum(s == ids[name] for s, _ in lost)
        recovered = [d for d in damage if d.where == f"stream {name}" and "recovered from" in d.what]
        assert recovered, name                         # the structural damage stays reported
    for sid, seq in lost:
        name = [n for n, i in ids.items() if i == sid][0]
        assert any(d.where == f"stream {name}" and f"chunk {seq} fail" in d.what for d in damage)
    assert _check(original, path) == "reported"
    assert len(rec.events) == 12


def test_a_page_of_random_bytes_loses_nothing_else_and_reads_nothing_wrong(session, tmp_path):
    """Every page of the file in turn overwritten with random bytes: what reads (recovered
    rows included) is a subset of the original, every value equal, all else reported."""
    original = bf.read(session)
    data = session.read_bytes()
    page = int.from_bytes(data[16:18], "big")
    rng = np.random.default_rng(3)
    path = tmp_path / "random.biofeed"
    outcomes = {"refused": 0, "intact": 0, "reported": 0}
    for pgno in range(2, len(data) // page + 1):
        damaged = bytearray(data)
        damaged[(pgno - 1) * page:pgno * page] = rng.integers(0, 256, page, dtype=np.uint8).tobytes()
        path.unlink(missing_ok=True)
        path.write_bytes(bytes(damaged))
        outcomes[_check(original, path)] += 1
    assert outcomes["reported"] > 0
    print(outcomes)


def test_events_under_a_damaged_interior_page_are_all_recovered(tmp_path):
    """An events table of several leaf pages, its root (a table interior page, type 0x05,
    which holds no rows) zeroed: every event is recovered, the damage reported. Rows longer
    than a page (overflow chains, in table and index B-trees) recover exactly as SQLite reads them."""
    import sqlite3
    from biofeed.record.recover import recover
    clock = SessionClock()
    clock.start()
    rec = SessionRecorder(tmp_path, participant="P01")
    rec.start(clock, [ECG])
    rec.write(Chunk(ECG, np.arange(50.0), 0.0))
    rec.write(Chunk(ECG, np.random.default_rng(5).normal(size=3000), 0.2))     # 24000 bytes: overflow
    for i in range(150):
        note = "z" * 9000 if i == 70 else "y" * 40                              # event 70 overflows
        rec.event(Event(i, 0.1 * i, 0.5, f"marker {i}", "marker", {"i": i, "note": note}))
    rec.close(20.0, "end of session")
    original = bf.read(rec.path)
    con = sqlite3.connect(f"file:{rec.path}?mode=ro", uri=True)
    chunks = {r[:2]: r for r in con.execute("SELECT stream_id, seq, t0, n, timestamps, vals FROM chunks")}
    events = {r[0]: r for r in con.execute("SELECT id, onset, duration, label, kind, payload FROM events")}
    con.close()
    found = recover(rec.path.read_bytes())
    assert found.chunks == chunks and found.events == events and len(events) == 150
    root = _root(rec.path, "events")
    data = bytearray(rec.path.read_bytes())
    assert _page(bytes(data), root)[0] == 0x05
    page = int.from_bytes(data[16:18], "big")
    data[(root - 1) * page:root * page] = bytes(page)
    path = tmp_path / "events.biofeed"
    path.write_bytes(bytes(data))
    damaged = bf.read(path)
    assert damaged.events.to_dict("records") == original.events.to_dict("records")
    assert any(d.where == "events" and "recovered from" in d.what for d in damaged.verify())
    assert damaged.signals["ecg"].values.tobytes() == original.signals["ecg"].values.tobytes()


@settings(max_examples=300, deadline=None)
@given(page=st.binary(min_size=512, max_size=4096), kind=st.sampled_from([0x0D, 0x0A, 0x02, 0x05, 0x00]),
       cells=st.integers(0, 70000))
def test_the_page_parser_takes_any_bytes(session, page, kind, cells):
    """Random bytes as a page (with a plausible page type and cell count, or none): no
    exception, and no row it gives fails its CRC (:func:`recover` keeps only those)."""
    from biofeed.record.recover import page_cells, recover
    head = bytearray(session.read_bytes()[:4096])
    body = bytearray(page.ljust(4096, b"\0"))
    body[0], body[3:5] = kind, (cells & 0xFFFF).to_bytes(2, "big")
    data = bytes(head + body + page)
    for _ in page_cells(data, 2, 4096, 4096, len(data) // 4096):
        pass
    found = recover(data)
    assert found.pages == len(data) // 4096
    assert recover(page).pages == 0 and recover(bytes(head[:100]) + page).chunks == {}


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=64)), min_size=1,
                      max_size=4))
def test_recovery_from_a_fuzzed_file_gives_only_rows_that_were_written(session, edits):
    from biofeed.record.recover import recover
    data = session.read_bytes()
    want = recover(data)
    fuzzed = bytearray(data)
    for where, blob in edits:
        at = int(where * (len(fuzzed) - 1))
        fuzzed[at:at + len(blob)] = blob
    got = recover(bytes(fuzzed))
    assert got.chunks.items() <= want.chunks.items() and got.events.items() <= want.events.items()
