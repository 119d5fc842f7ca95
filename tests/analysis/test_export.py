"""Export then read gives the same samples (within the format's quantisation) and events:
BIDS physio, EDF+ and CSV; imported recordings become session files."""
from __future__ import annotations

import numpy as np
import pytest

import biofeed as bf
from biofeed.record.export import export, to_session_file
from biofeed.record.reader import Recording, Signal
from biofeed.stream import StreamInfo

EVENT_COLUMNS = ["onset", "duration", "label", "kind"]


def _same_events(a: Recording, b: Recording, atol: float = 0.0) -> None:
    x, y = a.events[EVENT_COLUMNS], b.events[EVENT_COLUMNS]
    assert x.label.tolist() == y.label.tolist() and x.kind.tolist() == y.kind.tolist()
    np.testing.assert_allclose(y[["onset", "duration"]].to_numpy(float),
                               x[["onset", "duration"]].to_numpy(float), rtol=0, atol=atol)


def _by_kind(rec: Recording) -> dict[str, Signal]:
    return {s.kind: rec.signals[n] for n, s in rec.streams.items()}


def test_bids_round_trip_is_exact(tmp_path, demo_raw):
    out = export(demo_raw, tmp_path, "bids", "sub-01_task-demo")
    physio = sorted(tmp_path.glob("*_physio.tsv.gz"))
    assert [p.name for p in physio] == [f"sub-01_task-demo_recording-{s}_physio.tsv.gz"
                                        for s in ("ecg", "eda", "resp")]
    assert (tmp_path / "sub-01_task-demo_events.tsv") in out.files
    back = bf.read(physio[1])
    for name, sig in demo_raw.signals.items():
        again = back.signals[name]
        assert (again.fs, again.unit, again.info.kind) == (sig.fs, sig.unit, sig.info.kind)
        np.testing.assert_array_equal(again.values, sig.values)
        np.testing.assert_allclose(again.times, sig.times, rtol=0, atol=1e-9)
    _same_events(demo_raw, back)


def test_edf_round_trip_within_16_bit_quantisation(tmp_path, demo_raw):
    (path,) = export(demo_raw, tmp_path, "edf").files
    back = bf.read(path)
    for kind, sig in _by_kind(demo_raw).items():
        again = _by_kind(back)[kind]
        assert again.fs == sig.fs and again.unit == sig.unit and len(again) == len(sig)
        step = np.ptp(sig.values) / 65535
        assert np.max(np.abs(again.values - sig.values)) <= 1.01 * step + 1e-6
    _same_events(demo_raw, back, atol=1e-4)    # TAL onsets have 100 us resolution


def test_multichannel_csv_columns_form_one_stream(tmp_path):
    acc = StreamInfo("acc", "acc", "g", 50.0, ("x", "y", "z"))
    values = np.arange(30.0).reshape(10, 3)
    rec = Recording.from_signals([Signal(values, np.arange(10) / 50.0, 50.0, "g", acc)])
    back = bf.read(export(rec, tmp_path, "csv", "a").files[0])
    assert back.streams["acc"].channels == ("x", "y", "z") and back.streams["acc"].rate == pytest.approx(50.0)
    np.testing.assert_array_equal(back.signals["acc"].values, values)


def test_csv_round_trip_is_exact(tmp_path, demo_raw):
    out = export(demo_raw, tmp_path, "csv", "s1")
    assert [f.name for f in out.files] == ["s1_ecg.csv", "s1_eda.csv", "s1_resp.csv", "s1_events.csv"]
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
    back = bf.read(export(rec, tmp_path, "csv", "x").files[0])
    np.testing.assert_array_equal(back.signals["strap.rr"].times, [0.8, 1.61])
    assert back.streams["strap.rr"].kind == "rr" and not back.streams["strap.rr"].regular


def test_unknown_format_is_named(tmp_path, demo_raw):
    with pytest.raises(ValueError, match="export format 'mat' is not one of"):
        export(demo_raw, tmp_path, "mat")


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
    assert "imported 3 stream(s) (ECG, EDA, RSP)" in out and "skipped (no known stream kind): Photosensor" in out
    (session,) = (tmp_path / "s").glob("*.biofeed")
    assert main(["export", str(session), "--format", "bids", "--out", str(tmp_path / "bids"),
                 "--stem", "sub-01_task-images"]) == 0
    back = bf.read(tmp_path / "bids" / "sub-01_task-images_recording-EDA_physio.tsv.gz")
    np.testing.assert_array_equal(back.signals["EDA"].values, bf.read(session).signals["EDA"].values)
    assert main(["import", str(source), "--out", str(tmp_path / "s")]) == 2
    assert "state the sampling rate" in " ".join(capsys.readouterr().out.split())
