"""EDF/EDF+/BDF(+) beyond the strict reader: the real files against pyedflib, the lenient reading
of headers pyedflib refuses against mne, annotation-only files and interval channels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import biofeed as bf
from biofeed.record.importers.common import FormatError
from biofeed.record.importers.edf_raw import read_raw
from format_writers import write_edf_plus

SHARED_EDF = ["edf/test_generator.edf", "edf/test_generator.bdf", "opensignals/eda_slow_signal.edf"]


def _pyedflib(path: Path):
    import pyedflib

    edf = pyedflib.EdfReader(str(path))
    try:
        signals = {edf.getLabel(i): (edf.getSampleFrequency(i), edf.getPhysicalDimension(i),
                                     edf.readSignal(i)) for i in range(edf.signals_in_file)}
        return signals, list(zip(*edf.readAnnotations()))
    finally:
        edf.close()


@pytest.mark.parametrize("name", SHARED_EDF)
def test_shared_files_as_pyedflib_reads_them(shared_data, name):
    path = shared_data / name
    ref, annotations = _pyedflib(path)
    rec = bf.read(path)
    assert list(rec.streams) == list(ref)                      # every signal, none skipped
    assert rec.meta["skipped"] == [] and "notes" not in rec.meta
    for label, (rate, unit, values) in ref.items():
        sig = rec.signals[label]
        assert sig.fs == rate
        scale = 1e-3 if unit == "uV" and sig.info.kind == "ecg" else 1.0
        np.testing.assert_array_equal(sig.values, values * scale)
    assert [(e.onset, e.label) for e in rec.events.itertuples()] == [
        (pytest.approx(on), text) for on, _, text in annotations]


@pytest.mark.parametrize("name", SHARED_EDF)
def test_the_lenient_reader_equals_pyedflib_on_compliant_files(shared_data, name):
    ref, annotations = _pyedflib(shared_data / name)
    content = read_raw(shared_data / name)
    assert content.notes == []
    assert [s[0] for s in content.signals] == list(ref)
    for (label, _, unit, rate, values), (ref_rate, ref_unit, ref_values) in zip(content.signals, ref.values()):
        assert (rate, unit) == (ref_rate, ref_unit)
        np.testing.assert_allclose(values, ref_values, rtol=1e-12, atol=1e-9)
    assert [(a[0], a[2]) for a in content.annotations] == [(a[0], a[2]) for a in annotations]


def _patched(src: bytes, at: int, text: bytes) -> bytes:
    return src[:at] + text + src[at + len(text):]


VARIANTS = {   # header faults seen in real files that pyedflib refuses and mne reads
    "records -1": lambda b: _patched(b, 236, b"-1      "),
    "non-ASCII patient": lambda b: _patched(b, 8, "Müller  ".encode("latin-1")),
    "date with ':'": lambda b: _patched(b, 168, b"04:04:11"),
    "time with ':'": lambda b: _patched(b, 176, b"12:57:02"),
    "truncated last record": lambda b: b[:-1000],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_noncompliant_headers_read_leniently_like_mne(shared_data, tmp_path, variant):
    import mne
    import pyedflib

    path = tmp_path / "variant.edf"
    path.write_bytes(VARIANTS[variant]((shared_data / "edf" / "test_generator.edf").read_bytes()))
    with pytest.raises(OSError):
        pyedflib.EdfReader(str(path)).close()
    ref = mne.io.read_raw_edf(path, preload=True, verbose="error")
    rec = bf.read(path)
    assert rec.meta["notes"][0].startswith("read leniently: pyedflib refused the file")
    assert list(rec.streams) == ref.ch_names
    assert rec.meta["start_local"] == "2011-04-04T12:57:02" and "start_utc" not in rec.meta
    n = ref.n_times
    if variant == "truncated last record":        # the complete records only, said so
        assert n == 599 * 200 and any("incomplete data record" in t for t in rec.meta["notes"])
    for label, volts in zip(ref.ch_names, ref.get_data()):
        sig = rec.signals[label]
        assert sig.fs == ref.info["sfreq"] and len(sig) == n
        np.testing.assert_allclose(sig.values * 1e-6, volts, rtol=1e-9, atol=1e-15)   # uV
    assert rec.events.label.tolist()[:1] == ["Recording starts"]


def test_annotation_only_edf_plus_keeps_its_annotations(tmp_path):
    path = write_edf_plus(tmp_path / "scoring.edf", [], [
        (1.5, 0.0, "lights off"), (12.25, 3.0, "arousal"), (20.0, 0.0, "Schlafstadium ü")])
    rec = bf.read(path)
    assert rec.streams == {}
    assert [(e.onset, e.duration, e.label, e.kind) for e in rec.events.itertuples()] == [
        (1.5, 0.0, "lights off", "annotation"), (12.25, 3.0, "arousal", "annotation"),
        (20.0, 0.0, "Schlafstadium ü", "annotation")]


def test_an_interval_channel_in_seconds(tmp_path):
    ecg = np.round(np.sin(np.arange(1000) / 10) * 20000).astype(int)
    path = write_edf_plus(tmp_path / "holter.edf", [("ECG", "uV", 100, ecg), ("IBI", "sec", 1, np.full(10, 8))],
                          [])
    rec = bf.read(path)
    ibi = rec.signals["IBI"]
    assert (ibi.info.kind, ibi.unit, ibi.fs) == ("generic", "ms", 1.0)
    np.testing.assert_allclose(ibi.values, 800.0)                 # 0.8 s -> 800 ms
    assert any("IBI: an interval channel sampled at 1 Hz" in n for n in rec.meta["notes"])
    np.testing.assert_allclose(rec.signals["ECG"].values, ecg / 10 / 1000, atol=1e-12)


def test_unreadable_edf_names_both_readings(tmp_path):
    garbage = tmp_path / "garbage.edf"
    garbage.write_bytes(b"0       not an EDF header" * 20)
    with pytest.raises(FormatError, match=r"garbage.edf: not a readable EDF/BDF file \(pyedflib: "
                                          r".*; read leniently: header field 'number of signals'"):
        bf.read(garbage)
    short = tmp_path / "short.edf"
    short.write_bytes(b"0       " + b" " * 100)
    with pytest.raises(FormatError, match="short.edf: .*108 bytes, shorter than the 256-byte EDF header"):
        bf.read(short)
