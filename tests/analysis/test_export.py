"""Export then read the written files gives the same samples (within the format's quantisation)
and events with every payload field: BIDS physio (raw and derivatives), EDF+ and CSV; files are
owner-only and never overwrite; imported recordings become session files."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings, strategies as st

import biofeed as bf
from biofeed.record.export import DERIVATIVES, EDF_ANNOTATION_BYTES, export, to_session_file
from biofeed.record.reader import Recording, Signal, events_frame
from biofeed.stream import StreamInfo

EVENT_COLUMNS = ["onset", "duration", "label", "kind"]


def _same_events(a: Recording, b: Recording, atol: float = 0.0) -> None:
    """Same events, payloads included (the importers read the exported payload columns; a
    null field is written n/a, which also means no field)."""
    x, y = a.events[EVENT_COLUMNS], b.events[EVENT_COLUMNS]
    assert x.label.tolist() == y.label.tolist() and x.kind.tolist() == y.kind.tolist()
    present = [{k: v for k, v in p.items() if v is not None} for p in a.events.payload]
    assert present == b.events.payload.tolist()
    np.testing.assert_allclose(y[["onset", "duration"]].to_numpy(float),
                               x[["onset", "duration"]].to_numpy(float), rtol=0, atol=atol)


def _read_events(path: Path) -> list[tuple]:
    """``(onset, duration, label, kind, payload)`` rows of an exported events table, decoded as
    the module notes of :mod:`biofeed.record.export` say: n/a = no such field, JSON unless a
    plain string, ``payload_`` prefix removed."""
    sep = "\t" if path.suffix == ".tsv" else ","
    table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    rows = []
    for row in table.itertuples(index=False):
        onset, duration, label, kind, *cells = row
        payload = {}
        for column, cell in zip(table.columns[4:], cells):
            if cell == "n/a":
                continue
            try:
                value = json.loads(cell)
            except ValueError:
                value = cell
            payload[column.removeprefix("payload_")] = value
        rows.append((float(onset), float(duration), label, kind, payload))
    return rows


def _expected_events(rec: Recording) -> list[tuple]:
    """The events as written: payload fields that are None read back as absent."""
    return [(ev.onset, ev.duration, ev.label, ev.kind,
             {k: v for k, v in ev.payload.items() if v is not None})
            for ev in rec.events.itertuples()]


def _with_events(rec: Recording, extra: list[tuple]) -> Recording:
    """``rec``'s streams with its events plus ``extra`` ``(onset, duration, label, kind, payload)``."""
    rows = [(e.onset, e.duration, e.label, e.kind, e.payload, e.id) for e in rec.events.itertuples()]
    rows += [(*e, 1000 + i) for i, e in enumerate(extra)]
    return Recording.from_signals([rec.signals[n] for n in rec.streams], events_frame(rows),
                                  rec.meta, rec.path)


#: Events a clinician's session adds to the demo's: a SUDS rating, a missing rating, a marker
#: note with a tab, a line break and unicode, a pause.
CLINICIAN_EVENTS = [
    (100.0, 0.0, "stressor", "rating", {"value": 70, "source": "clinician", "scale": "SUDS",
                                        "question": "How distressed?", "min": 0, "max": 100}),
    (119.5, 0.0, "stressor", "rating", {"value": None, "missing": True, "scale": "SUDS"}),
    (130.25, 0.0, "marker", "marker", {"note": "sighs\tdeeply\nhand on chest – «ouf»",
                                       "phase": "recovery"}),
    (140.0, 5.5, "pause", "pause", {"phase": "recovery", "note": ""}),
]


@pytest.fixture(scope="module")
def demo(demo_session) -> Recording:
    """The recorded demo session (raw and derived streams) with the clinician's events."""
    return _with_events(bf.read(demo_session), CLINICIAN_EVENTS)


def _derived(rec: Recording) -> dict[str, Signal]:
    return {n: rec.signals[n] for n, info in rec.streams.items() if info.derived}


# -- raw streams -----------------------------------------------------------------------------


def test_bids_round_trip_is_exact(tmp_path, demo_raw):
    out = export(demo_raw, tmp_path, "bids", "sub-01_task-demo")
    physio = sorted(tmp_path.glob("*_physio.tsv.gz"))
    assert [p.name for p in physio] == [f"sub-01_task-demo_recording-{s}_physio.tsv.gz"
                                        for s in sorted(demo_raw.streams)]
    assert (tmp_path / "sub-01_task-demo_events.tsv") in out.files
    assert not (tmp_path / "derivatives").exists()       # nothing derived in this recording
    back = bf.read(physio[0])
    for name, sig in demo_raw.signals.items():
        again = back.signals[name]
        assert (again.fs, again.unit, again.info.kind) == (sig.fs, sig.unit, sig.info.kind)
        np.testing.assert_array_equal(again.values, sig.values)
        np.testing.assert_allclose(again.times, sig.times, rtol=0, atol=1e-9)
    _same_events(demo_raw, back)


#: BIDS 1.10 file names of a physiological recording beside a behavioural task (appendix
#: "Entity table": sub, ses, task, acq, run, recording in this order; labels alphanumeric).
_LABEL = r"[a-zA-Z0-9]+"
BIDS_PHYSIO = re.compile(rf"sub-(?P<sub>{_LABEL})/(ses-(?P<ses>{_LABEL})/)?beh/"
                         rf"sub-(?P=sub)(_ses-(?P=ses))?_task-{_LABEL}(_acq-{_LABEL})?(_run-\d+)?"
                         rf"(_recording-{_LABEL})?_(physio\.tsv\.gz|physio\.json|events\.tsv|events\.json)")
BIDS_TOP = {"dataset_description.json", "participants.tsv", "participants.json"}


def _bids_name_ok(rel: str) -> bool:
    """The specification's naming rules, checked by the ``bids-validator`` package when it is
    installed (it is a test dependency) and always by :data:`BIDS_PHYSIO`."""
    ok = rel in BIDS_TOP or BIDS_PHYSIO.fullmatch(rel) is not None
    try:
        from bids_validator import BIDSValidator
    except ImportError:
        return ok
    return ok and BIDSValidator().is_bids(f"/{rel}")


def test_bids_dataset_names_follow_the_specification(tmp_path, demo_raw, demo_session):
    """Without a stem: sub-<participant>/ses-<start>/beh/ files named by the participant, the
    start and the protocol; dataset_description.json and participants.tsv at the root; every
    name valid; the importer reads the recording back exactly."""
    rec = Recording.from_signals(demo_raw.signals.values(), demo_raw.events,
                                 demo_raw.meta | {"participant": "P-07"}, demo_raw.path)
    out = export(rec, tmp_path, "bids")
    ses = rec.start_utc.strftime("%Y%m%dT%H%M%S")
    stem = f"sub-P07/ses-{ses}/beh/sub-P07_ses-{ses}_task-demo"
    names = sorted(str(p.relative_to(tmp_path)) for p in out.files)
    assert names == sorted([*BIDS_TOP, f"{stem}_events.json", f"{stem}_events.tsv",
                            *(f"{stem}_recording-{s}_physio.{e}" for s in demo_raw.streams
                              for e in ("json", "tsv.gz"))])
    assert all(_bids_name_ok(n) for n in names), [n for n in names if not _bids_name_ok(n)]
    assert not _bids_name_ok("20261202T054818Zf42a200a_recording-ecg_physio.tsv.gz")  # the old name
    description = json.loads((tmp_path / "dataset_description.json").read_text())
    assert description["DatasetType"] == "raw" and description["BIDSVersion"] == "1.10.0"
    assert (tmp_path / "participants.tsv").read_text() == "participant_id\nsub-P07\n"
    back = bf.read(tmp_path / f"{stem}_recording-ecg_physio.tsv.gz")
    for name, sig in demo_raw.signals.items():
        np.testing.assert_array_equal(back.signals[name].values, sig.values)
    _same_events(demo_raw, back)
    # a second participant's session in the same dataset: participants.tsv is not rewritten
    other = Recording.from_signals(demo_raw.signals.values(), demo_raw.events,
                                   demo_raw.meta | {"participant": "P08"}, demo_raw.path)
    again = export(other, tmp_path, "bids", derived=False)
    assert "P08" in again.skipped["participants.tsv"]
    assert (tmp_path / "participants.tsv").read_text() == "participant_id\nsub-P07\n"
    assert all(_bids_name_ok(str(p.relative_to(tmp_path))) for p in again.files)
    # with derived streams (a live session): the derivative dataset mirrors the folders
    live = export(bf.read(demo_session), tmp_path / "live", "bids").files
    derived = [p for p in live if "derivatives" in p.parts]
    assert derived and all(p.parent.name == "beh" and p.parent.parent.name.startswith("ses-")
                           and p.name.startswith("sub-") for p in derived
                           if p.name != "dataset_description.json")


def test_edf_round_trip_within_16_bit_quantisation(tmp_path, demo_raw):
    out = export(demo_raw, tmp_path, "edf")
    path = out.files[0]
    assert [p.name for p in out.files] == [path.name, f"{path.stem}_events.tsv", f"{path.stem}_events.json"]
    back = bf.read(path)
    for name, sig in demo_raw.signals.items():          # a signal per channel (acc.x, acc.y, ...)
        values = sig.values.reshape(len(sig), -1)
        for i, ch in enumerate(sig.channels):
            again = back.signals[name if values.shape[1] == 1 else f"{name}.{ch}"]
            assert again.info.kind == sig.info.kind
            assert again.fs == sig.fs and again.unit == sig.unit and len(again) == len(sig)
            step = np.ptp(values[:, i]) / 65535
            assert np.max(np.abs(again.values - values[:, i])) <= 1.01 * step + 1e-6
    _same_events(demo_raw, back)                      # from the events table beside the file
    assert back.meta["events_from"] == f"{path.stem}_events.tsv"
    (path.parent / f"{path.stem}_events.tsv").unlink()
    annotated = bf.read(path)                         # the annotations alone
    assert "events_from" not in annotated.meta
    assert annotated.events.kind.tolist() == demo_raw.events.kind.tolist()
    assert annotated.events.label.tolist() == demo_raw.events.label.tolist()  # payload text cut off
    np.testing.assert_allclose(annotated.events.onset, demo_raw.events.onset, rtol=0, atol=1e-4)  # TAL: 100 us


def test_multichannel_csv_columns_form_one_stream(tmp_path):
    acc = StreamInfo("acc", "acc", "g", 50.0, ("x", "y", "z"))
    values = np.arange(30.0).reshape(10, 3)
    rec = Recording.from_signals([Signal(values, np.arange(10) / 50.0, 50.0, "g", acc)])
    back = bf.read(export(rec, tmp_path, "csv", "a").files[0])
    assert back.streams["acc"].channels == ("x", "y", "z") and back.streams["acc"].rate == pytest.approx(50.0)
    np.testing.assert_array_equal(back.signals["acc"].values, values)


def test_csv_round_trip_is_exact(tmp_path, demo_raw):
    out = export(demo_raw, tmp_path, "csv", "s1")
    assert [f.name for f in out.files] == [*(f"s1_{n}.csv" for n in demo_raw.streams), "s1_events.csv"]
    for name, sig in demo_raw.signals.items():
        back = bf.read(tmp_path / f"s1_{name}.csv", events=tmp_path / "s1_events.csv")
        again = back.signals[name]
        assert again.fs == pytest.approx(sig.fs) and again.info.kind == sig.info.kind
        np.testing.assert_array_equal(again.values, sig.values)
        _same_events(demo_raw, back)


def test_irregular_streams_go_to_csv_only(tmp_path):
    rr = StreamInfo("strap.rr", "rr", "ms", 0.0, ("rr_ms",), "strap")
    rec = Recording.from_signals([Signal(np.array([800.0, 810.0]), np.array([0.8, 1.61]), 0.0, "ms", rr)])
    assert export(rec, tmp_path, "bids", "x").skipped == {"strap.rr": "irregular stream (no regular sampling rate)"}
    with pytest.raises(ValueError, match="no regular stream with samples to write as EDF"):
        export(rec, tmp_path, "edf", "x")
    assert not (tmp_path / "x.edf").exists()              # what a failed export wrote is gone
    back = bf.read(export(rec, tmp_path, "csv", "x").files[0])
    np.testing.assert_array_equal(back.signals["strap.rr"].times, [0.8, 1.61])
    assert back.streams["strap.rr"].kind == "rr" and not back.streams["strap.rr"].regular


# -- derived streams -------------------------------------------------------------------------


def test_bids_derived_streams_are_exact_and_described(tmp_path, demo):
    out = export(demo, tmp_path, "bids", "sub-01_task-demo")
    folder = tmp_path / DERIVATIVES
    assert json.loads((folder / "dataset_description.json").read_text())["DatasetType"] == "derivative"
    assert not list(tmp_path.glob("*desc-*"))            # derivatives stay out of the raw folder
    stem = "sub-01_task-demo"
    files = {"ecg.rpeaks": "recording-ecg_desc-rpeaks_events",
             "ecg.rr": "recording-ecg_desc-rr_events",
             "eda.scl": "recording-eda_desc-scl_physio",
             "eda.scr": "recording-eda_desc-scr_events",
             "resp.breaths": "recording-resp_desc-breaths_events",
             "resp.breaths.pacing": "recording-resp_desc-breathspacing_events",
             "ecg.rr.nn": "recording-ecg_desc-rrnn_events",
             "ecg.rr.hrv": "recording-ecg_desc-rrhrv_events",
             "ecg.rr.coherence": "recording-ecg_desc-rrcoherence_events",
             "ecg.rr.rsa": "recording-ecg_desc-rrrsa_events",
             "arousal": "desc-arousal_events",
             "ecg.quality": "recording-ecg_desc-quality_events",
             "ecg.rpeaks.quality": "recording-ecg_desc-rpeaksquality_events",
             "eda.quality": "recording-eda_desc-quality_events"}
    derived = _derived(demo)
    assert set(derived) == set(files) and out.skipped == {}
    for name, sig in derived.items():
        base = folder / f"{stem}_{files[name]}"
        sidecar = json.loads(base.with_suffix(".json").read_text())
        assert name in sidecar["Description"]
        values = sig.values.reshape(len(sig), -1)
        if sig.info.regular:
            table = pd.read_csv(f"{base}.tsv.gz", sep="\t", header=None)
            assert (sidecar["SamplingFrequency"], sidecar["StartTime"]) == (sig.fs, sig.times[0])
            columns = sidecar["Columns"]
        else:
            table = pd.read_csv(f"{base}.tsv", sep="\t", na_values=["n/a"], keep_default_na=False)
            assert list(table.columns[:2]) == ["onset", "duration"]
            np.testing.assert_array_equal(table.onset, sig.times)
            assert (table.duration == 0).all() and sidecar["onset"]["Units"] == "s"
            columns = list(table.columns[2:])
            table = table[columns]
        np.testing.assert_array_equal(table.to_numpy(float), values)   # NaN where NaN
        assert len(columns) == len(sig.channels)
        for column in columns:
            assert sidecar[column]["Description"]
    units = {n: json.loads((folder / f"{stem}_{files[n]}.json").read_text()) for n in files}
    assert units["ecg.rr.nn"]["nn_ms"]["Units"] == "ms"
    assert units["ecg.rr.nn"]["artifact"]["Levels"]["1"] == "ectopic"
    assert units["eda.scr"]["rise_time_s"]["Units"] == "s" and units["eda.scl"]["scl"]["Units"] == "uS"
    assert units["ecg.rr.hrv"]["lf"]["Units"] == "ms^2" and units["ecg.rr.rsa"]["rsa_bpm"]["Units"] == "bpm"
    assert units["ecg.rpeaks"]["amplitude"]["Units"] == "mV"


def test_csv_derived_streams_are_exact_with_units_in_the_header(tmp_path, demo):
    export(demo, tmp_path, "csv", "s1")
    headers = {}
    for name, sig in _derived(demo).items():
        table = pd.read_csv(tmp_path / f"s1_{name.replace('.', '')}.csv", na_values=["n/a"],
                            keep_default_na=False)
        assert table.columns[0] == "time_s"
        np.testing.assert_array_equal(table.time_s, sig.times)
        np.testing.assert_array_equal(table.iloc[:, 1:].to_numpy(float), sig.values.reshape(len(sig), -1))
        headers[name] = list(table.columns[1:])
    assert headers["ecg.rr.nn"] == ["nn_ms [ms]", "artifact"]
    assert headers["eda.scr"] == ["amplitude_us [uS]", "rise_time_s [s]", "peak_s [s]",
                                  "min_amplitude_us [uS]"]
    assert headers["eda.scl"] == ["scl [uS]"] and headers["ecg.rr"] == ["rr [ms]"]
    assert headers["ecg.rr.hrv"][:2] == ["mean_nn [ms]", "sdnn [ms]"]


def test_edf_holds_regular_derived_streams_and_skips_irregular_ones(tmp_path, demo):
    import pyedflib

    out = export(demo, tmp_path, "edf", "s1")
    assert set(out.skipped) == {n for n, s in _derived(demo).items() if not s.info.regular}
    assert all("EDF+ signals need a sampling rate" in r for r in out.skipped.values())
    edf = pyedflib.EdfReader(str(tmp_path / "s1.edf"))
    try:
        i = edf.getSignalLabels().index("eda.scl")
        assert (edf.getTransducer(i), edf.getPhysicalDimension(i)) == ("biofeed:scl", "uS")
        scl = demo.signals["eda.scl"].values
        again = edf.readSignal(i)
    finally:
        edf.close()
    assert len(again) == len(scl) and np.max(np.abs(again - scl)) <= 1.01 * np.ptp(scl) / 65535 + 1e-9


def test_events_keep_every_payload_field(tmp_path, demo):
    """BIDS events.tsv, the events table beside the EDF, and events.csv."""
    export(demo, tmp_path / "bids", "bids", "s1")
    export(demo, tmp_path / "edf", "edf", "s1")
    export(demo, tmp_path / "csv", "csv", "s1")
    expected = _expected_events(demo)
    for path in (tmp_path / "bids" / "s1_events.tsv", tmp_path / "edf" / "s1_events.tsv",
                 tmp_path / "csv" / "s1_events.csv"):
        assert _read_events(path) == expected, path
    sidecar = json.loads((tmp_path / "bids" / "s1_events.json").read_text())
    columns = pd.read_csv(tmp_path / "bids" / "s1_events.tsv", sep="\t", nrows=0).columns
    assert set(sidecar) == set(columns)                   # every column described
    assert sidecar["pacer_rate_bpm"]["Units"] == "breaths/min" and sidecar["onset"]["Units"] == "s"
    assert {"phase_kind", "stressor", "pacer_rate_bpm", "value", "scale", "note", "pacer"} <= set(columns)
    # the importer still reads label and kind
    again = bf.read(tmp_path / "csv" / "s1_eda.csv", events=tmp_path / "csv" / "s1_events.csv")
    assert again.events.label.tolist() == demo.events.label.tolist()


def test_edf_annotations_carry_kind_label_and_the_payload_that_fits(tmp_path, demo):
    import pyedflib

    export(demo, tmp_path, "edf", "s1")
    edf = pyedflib.EdfReader(str(tmp_path / "s1.edf"))
    try:
        _, _, texts = edf.readAnnotations()
    finally:
        edf.close()
    assert len(texts) == len(demo.events)
    for text, ev in zip(texts, demo.events.itertuples()):
        assert len(text.encode()) <= EDF_ANNOTATION_BYTES
        head, _, fields = text.partition(" | ")
        assert head == f"{ev.kind}:{ev.label}"
        for item in fields.split(" ") if fields else []:
            key, _, value = item.partition("=")
            assert key in ev.payload and value
    texts = list(texts)
    assert "phase:stressor | phase_kind=prompt" in texts
    assert "rating:stressor | value=70 scale=SUDS" in texts
    assert "rating:stressor | missing=true" in texts      # a None value is left out
    assert "marker:marker | phase=recovery" in texts      # the note is too long for 40 bytes


def test_edf_stores_more_events_than_data_records(tmp_path):
    """pyedflib's writer keeps one annotation per data record and annotation signal."""
    import pyedflib

    info = StreamInfo("ecg", "ecg", "mV", 10.0, ("ECG",))
    rows = [(0.1 * i, 0.0, f"m{i}", "marker", {"note": "é" * 30, "i": i}, i) for i in range(25)]
    rec = Recording.from_signals([Signal(np.sin(np.arange(30.0)), np.arange(30) / 10.0, 10.0, "mV", info)],
                                 events_frame(rows))
    export(rec, tmp_path, "edf", "short")                 # 3 data records of 1 s
    edf = pyedflib.EdfReader(str(tmp_path / "short.edf"))
    try:
        _, _, texts = edf.readAnnotations()
    finally:
        edf.close()
    assert list(texts) == [f"marker:m{i} | i={i}" for i in range(25)]


def test_no_derived_leaves_derived_streams_out(tmp_path, demo):
    assert not any("desc-" in p.name for p in export(demo, tmp_path / "b", "bids", "s", derived=False).files)
    assert not (tmp_path / "b" / "derivatives").exists()
    raw = [n for n, info in demo.streams.items() if not info.derived]
    assert [p.name for p in export(demo, tmp_path / "c", "csv", "s", derived=False).files] == [
        *(f"s_{n}.csv" for n in raw), "s_events.csv"]
    assert export(demo, tmp_path / "e", "edf", "s", derived=False).skipped == {}


def test_files_are_owner_only_whatever_the_umask(tmp_path, demo):
    old = os.umask(0)
    try:
        files = [p for fmt in ("bids", "edf", "csv") for p in export(demo, tmp_path / fmt, fmt, "s").files]
    finally:
        os.umask(old)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(written) == sorted(files)
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {"0o600"}


def test_existing_files_are_never_overwritten(tmp_path, demo_raw):
    events = tmp_path / "s_events.tsv"
    events.write_text("kept")
    with pytest.raises(FileExistsError, match="s_events.tsv: exists already"):
        export(demo_raw, tmp_path, "bids", "s")
    assert [p.name for p in tmp_path.iterdir()] == ["s_events.tsv"]     # the physio files are removed
    assert events.read_text() == "kept"


def test_unknown_format_is_named(tmp_path, demo_raw):
    with pytest.raises(ValueError, match="export format 'mat' is not one of"):
        export(demo_raw, tmp_path, "mat")


# -- arbitrary payloads ----------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)
_events = st.lists(st.tuples(st.floats(0, 1e5), st.floats(0, 1e3), st.text(), st.text(min_size=1),
                             st.dictionaries(st.text(), _json, max_size=5)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(events=_events)
@example(events=[(1.5, 0.0, 'a\tb\r"c"\n', "n/a", {"onset": "", "payload_x": "n/a", "": "5", "t": "true",
                                                 "q": '"q"', "c": "x\r\x00,y", "n": {"a": [None, "\t"]},
                                                 "s": " 5", "u": "NaN", "v": -0.0, "w": 1e300})])
def test_any_event_payload_round_trips_through_bids_and_csv(events):
    """Strings with tabs, line breaks, quotes and any unicode, JSON look-alikes, nested values."""
    rec = Recording.from_signals([], events_frame([(*e, i) for i, e in enumerate(events)]), path="x")
    with tempfile.TemporaryDirectory() as folder:
        for fmt, name in (("bids", "s_events.tsv"), ("csv", "s_events.csv")):
            export(rec, Path(folder) / fmt, fmt, "s")
            assert _read_events(Path(folder) / fmt / name) == _expected_events(rec)


# -- CLI, session files ----------------------------------------------------------------------


def test_cli_export_options_and_errors(tmp_path, demo_session, capsys):
    from biofeed.cli import main

    csv = ["export", str(demo_session), "--format", "csv", "--out", str(tmp_path), "--stem", "s"]
    assert main([*csv, "--no-derived"]) == 0
    raw = [n for n, info in bf.read(demo_session).streams.items() if not info.derived]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(f"s_{n}.csv" for n in raw),
                                                                 "s_events.csv"])
    assert main(csv) == 2
    assert "s_ecg.csv: exists already" in " ".join(capsys.readouterr().out.split())
    assert main(["export", str(demo_session), "--format", "bids", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / DERIVATIVES / "dataset_description.json").is_file()


def test_imported_recording_becomes_a_session_file(tmp_path, shared_data):
    source = bf.read(shared_data / "neurokit" / "bio_eventrelated_100hz.csv", rate=100.0)
    path = to_session_file(source, tmp_path)
    rec = bf.read(path)
    assert path.suffix == ".biofeed" and rec.complete and rec.meta["ended_by"] == "imported"
    assert rec.meta["devices"][0]["source"]["imported_from"].endswith("bio_eventrelated_100hz.csv")
    for name in source.streams:
        np.testing.assert_array_equal(rec.signals[name].values, source.signals[name].values)


def test_gaps_survive_the_session_file(tmp_path):
    info = StreamInfo("ecg", "ecg", "mV", 100.0, ("ECG",))
    times = np.concatenate((np.arange(100) / 100, 3 + np.arange(100) / 100))
    rec = Recording.from_signals([Signal(np.zeros(200), times, 100.0, "mV", info)])
    assert rec.gaps("ecg") == [(pytest.approx(1.0), pytest.approx(3.0))]
    again = bf.read(to_session_file(rec, tmp_path))
    assert again.gaps("ecg") == [(pytest.approx(1.0), pytest.approx(3.0))]
    np.testing.assert_allclose(again.signals["ecg"].times, times)


def test_cli_import_then_export(tmp_path, shared_data, capsys):
    from biofeed.cli import main

    source = shared_data / "neurokit" / "bio_eventrelated_100hz.csv"
    assert main(["import", str(source), "--rate", "100", "--out", str(tmp_path / "s")]) == 0
    out = " ".join(capsys.readouterr().out.split())     # rich wraps long lines
    assert "imported 3 stream(s) (ECG, EDA, RSP)" in out and "left out: Photosensor (no stream kind known from its name)" in out
    (session,) = (tmp_path / "s").glob("*.biofeed")
    assert main(["export", str(session), "--format", "bids", "--out", str(tmp_path / "bids"),
                 "--stem", "sub-01_task-images"]) == 0
    back = bf.read(tmp_path / "bids" / "sub-01_task-images_recording-EDA_physio.tsv.gz")
    np.testing.assert_array_equal(back.signals["EDA"].values, bf.read(session).signals["EDA"].values)
    assert main(["import", str(source), "--out", str(tmp_path / "s")]) == 2
    assert "state the sampling rate" in " ".join(capsys.readouterr().out.split())
