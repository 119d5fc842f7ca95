"""Importing other tools' recordings: real files (../shared/data) and files written per each
format's specification from real signals; malformed files give errors naming file and field."""
from __future__ import annotations

import gzip
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

import biofeed as bf
from biofeed.devices.bitalino import ecg_mv, eda_us
from biofeed.record.importers.common import FormatError
from format_writers import write_bids_physio, write_e4, write_opensignals, write_xdf

FS = 100.0


@pytest.fixture(scope="module")
def real(neurokit_event):
    """60 s of real ECG (mV) and EDA (uS) at 100 Hz from the NeuroKit2 example."""
    part = neurokit_event.iloc[:6000]
    return part.ECG.to_numpy(), part.EDA.to_numpy()


def test_wfdb_mitdb_100(shared_data):
    import wfdb

    rec = bf.read(shared_data / "mitdb" / "100.hea")
    ref = wfdb.rdrecord(str(shared_data / "mitdb" / "100"))
    assert list(rec.streams) == ["MLII", "V5"]
    mlii = rec.signals["MLII"]
    assert mlii.info.kind == "ecg" and mlii.fs == 360.0 and mlii.unit == "mV"
    np.testing.assert_array_equal(mlii.values, ref.p_signal[:, 0])
    assert mlii.times[-1] == pytest.approx((650000 - 1) / 360.0)
    beats = rec.events[rec.events.kind == "annotation"]
    assert len(beats) == 2274 and (beats.label == "N").sum() == 2239
    assert rec.gaps("MLII") == []


def test_csv_with_a_stated_rate(shared_data):
    path = shared_data / "neurokit" / "bio_resting_8min_100hz.csv"
    rec = bf.read(path, rate=100.0)
    assert {n: s.kind for n, s in rec.streams.items()} == {"ECG": "ecg", "RSP": "resp", "EDA": "eda"}
    assert rec.meta["skipped"] == ["PhotoSensor (no stream kind known from its name)"]
    eda = rec.signals["EDA"]
    np.testing.assert_array_equal(eda.values, pd.read_csv(path).EDA.to_numpy())
    assert eda.times[1] == pytest.approx(0.01) and eda.unit == "uS"
    with pytest.raises(FormatError, match=r"bio_resting_8min_100hz.csv: no time column .* state the sampling rate"):
        bf.read(path)
    with pytest.raises(ValueError, match=r"100.hea: option\(s\) \['rate'\] do not apply .* takes \['annotators'\]"):
        bf.read(shared_data / "mitdb" / "100.hea", rate=100.0)


def test_skin_temperature_columns_are_a_stream_kind(tmp_path):
    path = tmp_path / "thermal.csv"
    t = np.arange(40) / 4.0
    pd.DataFrame({"time": t, "Skin temperature": 31.0 + 0.01 * t, "temp_2": 30.0,
                  "template": 1.0}).to_csv(path, index=False)
    rec = bf.read(path)
    assert {n: (s.kind, s.unit, s.rate) for n, s in rec.streams.items()} == {
        "Skin temperature": ("temp", "degC", 4.0), "temp_2": ("temp", "degC", 4.0)}
    assert rec.meta["skipped"] == ["template (no stream kind known from its name)"]


def test_csv_events_table_and_bad_columns(tmp_path, real):
    ecg, _ = real
    table = tmp_path / "ecg.csv"
    pd.DataFrame({"time_s": np.arange(len(ecg)) / FS, "ECG": ecg}).to_csv(table, index=False)
    events = tmp_path / "events.csv"
    events.write_text("onset,duration,label,kind\n10.5,3,negative,prompt\n30,0,neutral,prompt\n")
    rec = bf.read(table, events=events)
    assert rec.streams["ECG"].rate == pytest.approx(FS)
    in_uv = bf.read(table, unit={"ECG": "uV"}).signals["ECG"]
    assert in_uv.unit == "mV" and np.allclose(in_uv.values, ecg / 1000)
    assert rec.events[["onset", "label", "kind"]].values.tolist() == [[10.5, "negative", "prompt"],
                                                                      [30.0, "neutral", "prompt"]]
    bad_events = tmp_path / "bad_events.csv"
    bad_events.write_text("start,label\n1,x\n")
    with pytest.raises(FormatError, match=r"bad_events.csv: events table lacks column\(s\) \['onset', 'duration'\]"):
        bf.read(table, events=bad_events)
    text = tmp_path / "text.csv"
    text.write_text("ECG,EDA\n0.1,oops\n0.2,1.0\n")
    with pytest.raises(FormatError, match=r"text.csv: column\(s\) \['EDA'\] hold non-numeric values"):
        bf.read(text, rate=100.0)


def test_edf_written_by_pyedflib(tmp_path, real):
    import pyedflib

    ecg, eda = real
    path = tmp_path / "clinic.edf"
    headers = [{"label": "ECG I", "dimension": "uV", "sample_frequency": FS, "physical_min": -3000.0,
                "physical_max": 3000.0, "digital_min": -32768, "digital_max": 32767,
                "transducer": "Ag/AgCl electrode", "prefilter": "HP:0.05Hz"},
               {"label": "GSR", "dimension": "uS", "sample_frequency": FS / 4, "physical_min": 0.0,
                "physical_max": 40.0, "digital_min": -32768, "digital_max": 32767,
                "transducer": "", "prefilter": ""},
               {"label": "Photo", "dimension": "", "sample_frequency": FS, "physical_min": 0.0,
                "physical_max": 1.0, "digital_min": -32768, "digital_max": 32767,
                "transducer": "", "prefilter": ""}]
    with pyedflib.EdfWriter(str(path), 3, file_type=pyedflib.FILETYPE_EDFPLUS) as w:
        w.setSignalHeaders(headers)
        w.writeSamples([ecg * 1000.0, np.ascontiguousarray(eda[::4]), np.zeros(len(ecg))])
        w.writeAnnotation(10.24, 3.0, "negative image")
    rec = bf.read(path)
    assert {n: (s.kind, s.unit, s.rate) for n, s in rec.streams.items()} == {
        "ECG I": ("ecg", "mV", FS), "GSR": ("eda", "uS", FS / 4), "Photo": ("generic", "a.u.", FS)}
    assert rec.meta["skipped"] == []                    # a label of no known kind is kept
    np.testing.assert_array_equal(rec.signals["Photo"].values.ravel(), 0.0)
    np.testing.assert_allclose(rec.signals["ECG I"].values, ecg, atol=6000 / 65535 / 1000 * 1.01)
    np.testing.assert_allclose(rec.signals["GSR"].values, eda[::4], atol=40 / 65535 * 1.01)
    ev = rec.events.iloc[0]
    assert (ev.onset, ev.duration, ev.label, ev.kind) == (10.24, 3.0, "negative image", "annotation")


def test_xdf_streams_and_markers(tmp_path, real):
    ecg, eda = real
    path = tmp_path / "lab.xdf"
    write_xdf(path, ecg, eda, FS, [(10.24, "negative"), (49.58, "neutral")])
    rec = bf.read(path)
    assert {n: (s.kind, s.unit, s.rate, s.channels) for n, s in rec.streams.items()} == {
        "BioAmp": ("ecg", "mV", FS, ("ECG",)), "GSR": ("eda", "uS", FS, ("EDA",))}
    np.testing.assert_array_equal(rec.signals["BioAmp"].values, ecg)
    np.testing.assert_array_equal(rec.signals["GSR"].values, eda)
    assert rec.signals["GSR"].times[0] == pytest.approx(0.0)
    markers = rec.events[["onset", "label", "kind"]].values.tolist()
    assert [m[1:] for m in markers] == [["negative", "marker"], ["neutral", "marker"]]
    np.testing.assert_allclose([m[0] for m in markers], [10.24, 49.58], atol=1e-9)


def test_xdf_malformed(tmp_path):
    wrong = tmp_path / "wrong.xdf"
    wrong.write_bytes(b"NOPE" + b"\x00" * 64)
    with pytest.raises(FormatError, match="wrong.xdf: not a readable XDF file"):
        bf.read(wrong)


def test_bids_physio_per_specification(tmp_path, real):
    ecg, eda = real
    folder = tmp_path / "sub-01" / "func"
    physio = write_bids_physio(folder, "sub-01_task-images_recording-cardiac", FS, -2.0,
                               {"cardiac": ecg, "trigger": np.zeros(len(ecg))}, {"cardiac": "mV"})
    write_bids_physio(folder, "sub-01_task-images_recording-eda", FS / 4, 0.0, {"eda": eda[::4]},
                      {"eda": "uS"})
    (folder / "sub-01_task-images_events.tsv").write_text(
        "onset\tduration\ttrial_type\n10.24\t3.0\tnegative\n49.58\t3.0\tneutral\n92.0\tn/a\tn/a\n")
    rec = bf.read(physio)
    assert {n: (s.kind, s.unit, s.rate) for n, s in rec.streams.items()} == {
        "cardiac_ecg": ("ecg", "mV", FS), "cardiac_generic": ("generic", "a.u.", FS),
        "eda": ("eda", "uS", FS / 4)}                   # the trigger column is kept, generic
    assert "skipped" not in rec.meta
    np.testing.assert_array_equal(rec.signals["cardiac_ecg"].values, ecg)
    # StartTime -2 s: session time 0 is the cardiac file's first sample, so eda starts at 2 s
    assert rec.signals["cardiac_ecg"].times[0] == 0.0 and rec.signals["eda"].times[0] == pytest.approx(2.0)
    assert rec.events.onset.tolist() == pytest.approx([12.24, 51.58, 94.0])
    assert rec.events.label.tolist() == ["negative", "neutral", ""]
    assert rec.events.duration.tolist() == [3.0, 3.0, 0.0]


def test_bids_malformed(tmp_path, real):
    ecg, _ = real
    physio = write_bids_physio(tmp_path, "sub-01_task-x", FS, 0.0, {"cardiac": ecg}, {})
    side = tmp_path / "sub-01_task-x_physio.json"
    side.write_text('{"StartTime": 0, "Columns": ["cardiac"]}')
    with pytest.raises(FormatError, match=r"sub-01_task-x_physio.json: field 'SamplingFrequency' is None, "
                                          "expected a number"):
        bf.read(physio)
    side.write_text('{"SamplingFrequency": 100, "StartTime": 0, "Columns": ["cardiac", "eda"]}')
    with pytest.raises(FormatError, match=r"1 columns, but the sidecar's Columns lists 2"):
        bf.read(physio)
    side.unlink()
    with pytest.raises(FormatError, match="sidecar sub-01_task-x_physio.json is missing"):
        bf.read(physio)
    side.write_text('{"SamplingFrequency": 100, "StartTime": 0, "Columns": ["cardiac"]}')
    physio.write_bytes(gzip.compress(b"0.1\t0.2\n")[:12])
    with pytest.raises(FormatError, match="not a readable gzip TSV"):
        bf.read(physio)


@pytest.fixture()
def e4_folder(tmp_path, real):
    _, eda = real
    start = 1_600_000_000.0
    rng = np.random.default_rng(0)
    write_e4(tmp_path / "e4", start, eda[::25], np.sin(np.arange(60 * 64) / 10.0),
             rng.integers(-64, 64, size=(60 * 32, 3)), [(1.5, 0.81), (2.31, 0.80)],
             [start + 10.24, start + 49.58])
    return tmp_path / "e4"


def test_empatica_folder_and_zip(tmp_path, e4_folder, real):
    _, eda = real
    for source in (e4_folder, shutil.make_archive(str(tmp_path / "e4"), "zip", e4_folder)):
        rec = bf.read(source)
        assert {n: (s.kind, s.unit, s.rate) for n, s in rec.streams.items()} == {
            "eda": ("eda", "uS", 4.0), "bvp": ("ppg", "a.u.", 64.0), "hr": ("hr", "bpm", 1.0),
            "acc": ("acc", "g", 32.0), "temp": ("temp", "degC", 4.0), "ibi": ("rr", "ms", 0.0)}
        np.testing.assert_allclose(rec.signals["eda"].values, eda[::25], atol=1e-6)
        acc = rec.signals["acc"].values
        assert acc.shape == (60 * 32, 3) and np.abs(acc).max() <= 1.0
        np.testing.assert_allclose(rec.signals["ibi"].values, [810.0, 800.0])
        np.testing.assert_allclose(rec.signals["ibi"].times, [1.5, 2.31])
        np.testing.assert_allclose(rec.events.onset, [10.24, 49.58], atol=0.01)
        np.testing.assert_allclose(rec.signals["temp"].values, 33.5)
        assert "skipped" not in rec.meta and rec.meta["start_utc"].startswith("2020-09-13")


def test_empatica_malformed(tmp_path, e4_folder):
    (e4_folder / "EDA.csv").write_text("1600000000.0\n")
    with pytest.raises(FormatError, match="EDA.csv has 1 line"):
        bf.read(e4_folder)
    (e4_folder / "EDA.csv").write_text("1600000000.0\nfour\n0.1\n")
    with pytest.raises(FormatError, match=r"EDA.csv: the sample rate \(line 2\) is 'four', expected a number"):
        bf.read(e4_folder)
    bad_zip = tmp_path / "broken.zip"
    bad_zip.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(FormatError, match="broken.zip: not a readable zip file"):
        bf.read(bad_zip)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("notes.txt", "nothing")
    with pytest.raises(FormatError, match="empty.zip: no E4 signal file"):
        bf.read(empty)


def test_opensignals_bitalino(tmp_path, real):
    ecg, eda = real
    # Invert the BITalino transfer functions (10-bit ADC) to get what the device would send.
    ecg_adc = np.clip(np.round((ecg / 1000 * 1100 / 3.3 + 0.5) * 1024), 0, 1023)
    eda_adc = np.clip(np.round(eda * 0.132 / 3.3 * 1024), 0, 1023)
    path = tmp_path / "opensignals_98D371FD61F0_2019-01-22_10-41-14.txt"
    write_opensignals(path, ecg_adc, eda_adc, int(FS))
    rec = bf.read(path)
    assert {n: (s.kind, s.unit, s.rate) for n, s in rec.streams.items()} == {
        "ecg": ("ecg", "mV", FS), "eda": ("eda", "uS", FS)}
    np.testing.assert_allclose(rec.signals["ecg"].values, ecg_mv(ecg_adc))
    np.testing.assert_allclose(rec.signals["eda"].values, eda, atol=eda_us(np.array([1.0]))[0])
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("# Some Other Format\n# {}\n# EndOfHeader\nA1\tA2\n")
    with pytest.raises(FormatError, match=r"wrong.txt: not a recording biofeed reads \(it starts with "
                                          r"b'# Some Other Format.*expected .*OpenSignals text"):
        bf.read(wrong)
    lines = path.read_text().splitlines()
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(lines[:3] + ["1\t0\t0"]) + "\n")
    with pytest.raises(FormatError, match="cut.txt: sample lines have 3 values, the header's column lists 7"):
        bf.read(cut)


def test_analyze_accepts_every_imported_format(tmp_path, real):
    """Each importer gives a Recording that analyze runs the signal core on."""
    from biofeed.analysis.analyze import analyze
    from biofeed.record.export import export
    from biofeed.record.reader import Recording, Signal
    from biofeed.stream import StreamInfo

    ecg, eda = real
    rng = np.random.default_rng(3)
    beats = np.cumsum(rng.normal(0.8, 0.05, 70))
    write_e4(tmp_path / "e4", 1.6e9, eda[::25], np.sin(np.arange(60 * 64) / 10.0), np.zeros((60 * 32, 3)),
             [(t, ibi) for t, ibi in zip(beats[1:], np.diff(beats))], [1.6e9 + 10.24])
    write_xdf(tmp_path / "lab.xdf", ecg, eda, FS, [(10.24, "negative"), (49.58, "neutral")])
    write_opensignals(tmp_path / "os.txt", np.clip(np.round((ecg / 1000 * 1100 / 3.3 + 0.5) * 1024), 0, 1023),
                      np.clip(np.round(eda * 0.132 / 3.3 * 1024), 0, 1023), int(FS))
    info = StreamInfo("ecg", "ecg", "mV", FS, ("ECG",))
    plain = Recording.from_signals([Signal(ecg, np.arange(len(ecg)) / FS, FS, "mV", info)])
    bids = export(plain, tmp_path / "bids", "bids", "sub-01_task-x").files[0]
    edf = export(plain, tmp_path / "edf", "edf", "x").files[0]
    for source in (tmp_path / "e4", tmp_path / "lab.xdf", tmp_path / "os.txt", bids, edf):
        result = analyze(bf.read(source))
        assert result.phases.phase.tolist() == ["recording"], source
        assert 40 < result.phases.hr_bpm[0] < 100, source
    assert len(analyze(bf.read(tmp_path / "lab.xdf")).responses) == 2       # one a marker


# -- OpenSignals: the real exports and the variants real tools write --------------------------
OPENSIGNALS_FILES = {   # file -> (stream kind, unit, rate Hz)
    "ecg_sample.txt": ("ecg", "mV", 200.0),
    "eda_slow_signal.txt": ("eda", "uS", 100.0),
    "bvp_sample.txt": ("ppg", "a.u.", 1000.0),
    "signal_sample_single_hub_RESPIRATION_2018_7_5.txt": ("resp", "a.u.", 1000.0),
}


@pytest.mark.parametrize("name", sorted(OPENSIGNALS_FILES))
def test_real_opensignals_exports_open_with_their_values(shared_data, name):
    """biosignalsplux exports (lines end with a tab, one 16-bit resolution per analog channel):
    every sample, read by pandas, through PLUX's biosignalsplux transfer functions."""
    import json
    path = shared_data / "opensignals" / name
    kind, unit, rate = OPENSIGNALS_FILES[name]
    rec = bf.read(path)
    assert {n: (s.kind, s.unit, s.rate) for n, s in rec.streams.items()} == {kind: (kind, unit, rate)}
    raw = pd.read_csv(path, sep="\t", comment="#", header=None).dropna(axis=1, how="all")
    adc = raw.iloc[:, 2].to_numpy(float)
    bits = json.loads(path.read_text().splitlines()[1][1:]).popitem()[1]["resolution"][0]
    want = {"ecg": (adc / 2 ** bits - 0.5) * 3.0 / 1019 * 1000, "eda": adc / 2 ** bits * 3.0 / 0.12}
    np.testing.assert_array_equal(rec.signals[kind].values.ravel(), want.get(kind, adc))


def _opensignals_text(devices: dict, rows: list[list[int]], first: str = "# OpenSignals Text File Format",
                      trailing_tab: bool = True) -> str:
    import json
    end = "\t" if trailing_tab else ""
    return "\n".join([first, "# " + json.dumps(devices), "# EndOfHeader"]
                     + ["\t".join(map(str, row)) + end for row in rows]) + "\n"


def _plux_header(mac: str, sensors: list[str], labels: list[str], position: int = 0, **extra) -> dict:
    return {mac: {"sensor": sensors, "device name": mac, "column": ["nSeq", "DI", *labels],
                  "device": "biosignalsplux", "position": position, "sampling rate": 500,
                  "label": labels, "resolution": [16] * len(labels), "date": "2020-3-4",
                  "time": "10:0:0.0"} | extra}


def test_opensignals_variants(tmp_path):
    rng = np.random.default_rng(4)
    ecg_adc, eda_adc = rng.integers(20000, 45000, 50), rng.integers(1000, 9000, 50)
    plux = _plux_header("00:07:80:4D:2E:76", ["ECG", "EDA"], ["CH1", "CH2"])
    rows = [[i % 16, 0, a, b] for i, (a, b) in enumerate(zip(ecg_adc, eda_adc))]
    ecg_want, eda_want = _plux_ecg(ecg_adc), eda_adc / 2 ** 16 * 3.0 / 0.12
    # a later header version line, no trailing tabs
    v1 = tmp_path / "v1.txt"
    v1.write_text(_opensignals_text(plux, rows, "# OpenSignals Text File Format. Version 1",
                                    trailing_tab=False))
    rec = bf.read(v1)
    np.testing.assert_array_equal(rec.signals["ecg"].values.ravel(), ecg_want)
    np.testing.assert_array_equal(rec.signals["eda"].values.ravel(), eda_want)
    # values already converted by OpenSignals: kept as they are
    done = tmp_path / "converted.txt"
    conv = {k: v | {"convertedValues": 1} for k, v in plux.items()}
    done.write_text(_opensignals_text(conv, [[0, 0, 1, 2], [1, 0, 3, 4]]))
    assert bf.read(done).signals["eda"].values.ravel().tolist() == [2.0, 4.0]
    # two devices in one file: labelled streams, each device's own columns and resolution
    two = {**_plux_header("00:07:80:4D:2E:76", ["ECG"], ["CH1"], 0),
           **{"98:D3:71:FD:61:F0": {"sensor": ["EDA"], "device name": "98:D3:71:FD:61:F0",
                                    "column": ["nSeq", "I1", "I2", "O1", "O2", "A1"],
                                    "device": "bitalino_rev", "position": 1, "sampling rate": 500,
                                    "label": ["A1"], "resolution": [4, 1, 1, 1, 1, 10]}}}
    bit = rng.integers(0, 1024, 50)
    both = tmp_path / "two.txt"
    both.write_text(_opensignals_text(two, [[i % 16, 0, a, i % 16, 0, 0, 0, 0, b]
                                            for i, (a, b) in enumerate(zip(ecg_adc, bit))]))
    rec = bf.read(both)
    assert set(rec.streams) == {"00-07-80-4D-2E-76.ecg", "98-D3-71-FD-61-F0.eda"}
    assert rec.streams["98-D3-71-FD-61-F0.eda"].device == "98-D3-71-FD-61-F0@98:D3:71:FD:61:F0"
    np.testing.assert_array_equal(rec.signals["00-07-80-4D-2E-76.ecg"].values.ravel(), ecg_want)
    np.testing.assert_array_equal(rec.signals["98-D3-71-FD-61-F0.eda"].values.ravel(),
                                  eda_us(bit, bits=10))
    # what is wrong is named
    bad = tmp_path / "bad.txt"
    bad.write_text(_opensignals_text(_plux_header("AA", ["ECG"], ["CH1"], resolution=[16, 16, 16, 16]),
                                     [[0, 0, 1]]))
    with pytest.raises(FormatError, match=r"bad.txt: device AA: resolution lists 4 values, expected "
                                          r"one per column \(3\) or per analog channel \(1\)"):
        bf.read(bad)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text(_opensignals_text(plux, [[0, 0, 1, 2], [1, 0, 3]]))
    with pytest.raises(FormatError, match="ragged.txt: sample line 2 has 3 values, the first has 4"):
        bf.read(ragged)


def _plux_ecg(adc):
    return (np.asarray(adc, float) / 2 ** 16 - 0.5) * 3.0 / 1019 * 1000


@pytest.mark.parametrize("record", ["wfdb/mixedsignals", "wfdb/041s/041s"])
def test_wfdb_signals_at_their_own_rates(shared_data, record, tmp_path):
    """Signals with several samples per frame (and a multi-segment record) at each signal's own
    rate, every sample as ``wfdb.rdrecord(smooth_frames=False)`` gives it; every lead kept,
    and the signals of no known kind (blood pressures) as generic streams."""
    import wfdb
    ref = wfdb.rdrecord(str(shared_data / record), smooth_frames=False)
    rec = bf.read(shared_data / f"{record}.hea")
    assert list(rec.streams) == ref.sig_name                             # nothing dropped
    kinds = {n: s.kind for n, s in rec.streams.items()}
    assert {kinds[n] for n in ("III", "V")} == {"ecg"} and kinds["ABP"] == "generic"
    for name, per_frame, values in zip(ref.sig_name, ref.samps_per_frame, ref.e_p_signal):
        assert rec.streams[name].rate == ref.fs * per_frame
        np.testing.assert_array_equal(rec.signals[name].values.ravel(), values)
    assert rec.streams["ABP"].unit == "mmHg"
    # a generic stream is stored, read back and exported like any other
    from biofeed.record.export import export, to_session_file
    back = bf.read(to_session_file(rec, tmp_path / "s"))
    assert back.streams["ABP"].kind == "generic"
    np.testing.assert_array_equal(back.signals["ABP"].values.ravel(), rec.signals["ABP"].values.ravel())
    assert export(back, tmp_path / "csv", "csv", "x").skipped == {}


def test_xdf_numeric_marker_stream_becomes_events(tmp_path, real):
    """An int32 stream of LSL type Markers (trigger codes, as many stimulus programs send)
    gives events labelled with the codes, at their times."""
    from format_writers import _chunk, xdf_footer, xdf_samples, xdf_stream_header
    ecg, _ = real
    t0 = 1000.0
    times = t0 + np.arange(len(ecg)) / FS
    codes, at = [11, 12, 11], np.array([t0 + 5.0, t0 + 20.25, t0 + 40.5])
    parts = [b"XDF:", _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>'),
             xdf_stream_header(1, "BioAmp", "ECG", 1, FS, "double64", ["ECG"], "mV"),
             xdf_stream_header(2, "Triggers", "Markers", 1, 0, "int32", ["code"]),
             xdf_samples(1, times, ecg[:, None]), xdf_samples(2, at, [[c] for c in codes], "<i4"),
             xdf_footer(1, times), xdf_footer(2, at)]
    path = tmp_path / "codes.xdf"
    path.write_bytes(b"".join(parts))
    rec = bf.read(path)
    assert list(rec.streams) == ["BioAmp"]
    markers = rec.events[rec.events.kind == "marker"]
    assert markers.label.tolist() == ["11", "12", "11"]
    np.testing.assert_allclose(markers.onset, [5.0, 20.25, 40.5])


def test_a_truncated_xdf_says_so(tmp_path, real):
    """A recorder writes the stream footers last: a file cut short has none, and the import
    says how much of each stream it read instead of passing for complete."""
    ecg, eda = real
    whole = tmp_path / "whole.xdf"
    write_xdf(whole, ecg, eda, FS, [(10.0, "start")])
    assert "notes" not in bf.read(whole).meta
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) * 2 // 3])
    rec = bf.read(cut)
    assert any(n.startswith("BioAmp: no stream footer, the file ends early") for n in rec.meta["notes"])
    assert len(rec.signals["BioAmp"]) < len(ecg)

