"""Every real file in ../shared/data/{opensignals,wfdb,edf,xdf,mitdb} opens, nothing is dropped
silently (channels in = stream channels out + skipped), and what comes out equals the format's
reference reader: wfdb (``smooth_frames=False``), pyedflib, pyxdf, pandas."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import biofeed as bf

#: The reference recordings beside the checkout (as tests/conftest.py's SHARED_DATA).
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FOLDERS = ("opensignals", "wfdb", "edf", "xdf", "mitdb")


def _shared_files() -> list[str]:
    """Every recording in the shared folders: WFDB by header (a multi-segment record's segments
    are records too), the others by file."""
    return [str(p.relative_to(SHARED)) for folder in FOLDERS for p in sorted((SHARED / folder).rglob("*"))
            if p.suffix in (".hea", ".txt", ".edf", ".bdf", ".xdf")]


FILES = _shared_files() if SHARED.is_dir() else []


def _channels_out(rec) -> int:
    return sum(len(s.channels) for s in rec.streams.values())


def _wfdb_reference(path: Path):
    import wfdb
    ref = wfdb.rdrecord(str(path.with_suffix("")), smooth_frames=False)
    return {n: (ref.fs * k, v) for n, k, v in zip(ref.sig_name, ref.samps_per_frame, ref.e_p_signal)}


def _edf_reference(path: Path):
    import pyedflib
    edf = pyedflib.EdfReader(str(path))
    try:
        return {edf.getLabel(i): (edf.getSampleFrequency(i), edf.readSignal(i))
                for i in range(edf.signals_in_file)}
    finally:
        edf.close()


def _opensignals_reference(path: Path):
    """Columns by label as pandas reads the sample lines (ADC units), the header by json."""
    lines = path.read_text().splitlines()
    devices = json.loads(lines[1].lstrip("#").strip())
    table = pd.read_csv(path, sep="\t", comment="#", header=None).dropna(axis=1, how="all")
    out, offset = {}, 0
    for header in sorted(devices.values(), key=lambda h: h.get("position", 0)):
        for label in header["label"]:
            out[label] = (float(header["sampling rate"]),
                          table.iloc[:, offset + header["column"].index(label)].to_numpy(float))
        offset += len(header["column"])
    return out


def test_the_shared_set_is_all_here():
    if not FILES:
        pytest.skip(f"{SHARED} is absent (the shared recordings sit beside the checkout)")
    assert len(FILES) >= 19, FILES


@pytest.mark.parametrize("name", FILES)
def test_every_shared_file_opens_as_its_reference_reader_reads_it(name):
    path = SHARED / name
    rec = bf.read(path)
    skipped = rec.meta.get("skipped", [])
    if path.suffix == ".xdf":
        import pyxdf
        streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
        numeric = [s for s in streams if s["info"]["channel_format"][0] != "string"
                   and s["info"]["type"][0].lower() != "markers"]
        markers = sum(len(s["time_stamps"]) for s in streams if s not in numeric)
        origin = min(s["time_stamps"][0] for s in streams if len(s["time_stamps"]))
        assert _channels_out(rec) == sum(s["time_series"].shape[1] for s in numeric)
        assert len(rec.events) == markers
        for s, (stream, sig) in zip(numeric, rec.signals.items()):
            assert stream == s["info"]["name"][0]
            np.testing.assert_array_equal(sig.values.reshape(len(sig), -1), s["time_series"])
            if sig.fs > 0:   # regular: the first stamp, then the nominal rate
                assert sig.times[0] == pytest.approx(s["time_stamps"][0] - origin, abs=1e-9)
            else:
                np.testing.assert_allclose(sig.times, s["time_stamps"] - origin, atol=1e-9)
        return
    ref = {".hea": _wfdb_reference, ".edf": _edf_reference, ".bdf": _edf_reference,
           ".txt": _opensignals_reference}[path.suffix](path)
    assert _channels_out(rec) + len(skipped) == len(ref)        # nothing dropped silently
    # OpenSignals channels are named "<label> <sensor>" (e.g. "A1 ECG")
    by_channel = {c.split(" ")[0] if path.suffix == ".txt" else c: s
                  for s in rec.signals.values() for c in s.channels}
    assert list(by_channel) == list(ref)
    for label, (rate, values) in ref.items():
        sig = by_channel[label]
        assert sig.fs == rate
        if path.suffix == ".txt":            # ADC units through PLUX's transfer functions
            assert len(sig) == len(values)
            if sig.info.kind not in ("ecg", "eda"):
                np.testing.assert_array_equal(sig.values.ravel(), values)
        elif sig.info.kind == "ecg" and sig.unit == "mV" and rec.meta["format"] == "edf":
            np.testing.assert_allclose(sig.values, values * 1e-3, rtol=1e-12)    # uV -> mV
        else:
            np.testing.assert_array_equal(sig.values.ravel(), values)


@pytest.mark.parametrize("record, annotators, beats", [
    ("100", ["atr"], 2274), ("208", ["atr"], 3040), ("105", ["qrs"], 2572), ("119", ["qrs"], 1987)])
def test_mitdb_annotations_from_every_annotation_file(record, annotators, beats):
    import wfdb
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    rec = bf.read(SHARED / "mitdb" / f"{record}.hea")
    events = rec.events[rec.events.kind == "annotation"]
    assert sorted({p["annotator"] for p in events.payload}) == annotators
    ann = wfdb.rdann(str(SHARED / "mitdb" / record), annotators[0])
    assert len(events) == len(ann.sample) == beats
    np.testing.assert_allclose(events.onset, ann.sample / 360.0)
    assert events.label.tolist() == ann.symbol
