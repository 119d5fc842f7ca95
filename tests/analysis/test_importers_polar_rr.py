"""Polar Sensor Logger exports and plain RR-interval text files: files written per the formats'
layouts from simulated signals (an H10 ECG at 130 Hz, RR batches arriving late over BLE), read
back and compared with the truth; malformed files give errors naming file, line and field."""
from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from biofeed.record.importers.common import FormatError
from biofeed.record.importers.polar import read_polar, sniff as sniff_polar
from biofeed.record.importers.rrtext import read_rr_text, sniff as sniff_rr

#: Session start on the phone clock (local civil time).
T0 = datetime(2026, 4, 24, 14, 10, 15, 270000)
POLAR_EPOCH = datetime(2000, 1, 1)
DRIFT = 40e-6            # the phone clock runs 40 ppm faster than the sensor's
STEM = "Polar_H10_A1B2C3D4_20260424_141015"
ECG_HEADER = "Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"
ACC_HEADER = "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"
HR_HEADER = "Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];"
RR_HEADER = "Phone timestamp;RR-interval [ms]"
PPI_HEADER = ("Phone timestamp;sensor timestamp [ns];HR [bpm];PP-interval [ms];error estimate [ms];"
              "blocker;skin contact;skin contact supported")
PPI_OLD_HEADER = "Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]"
PPG_HEADER = "Phone timestamp;sensor timestamp [ns];channel 0;channel 1;channel 2;ambient"


def stamp(t: float) -> str:
    """Phone timestamp of session second ``t``: ISO local time, ms (truncated, as Android's
    currentTimeMillis), no zone."""
    when = T0 + timedelta(milliseconds=int(np.floor(t * 1000)))
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def stamp_s(t) -> np.ndarray:
    """What a phone timestamp written by :func:`stamp` says, session s."""
    return np.floor(np.asarray(t) * 1000) / 1000


def sensor_ns(tau: np.ndarray, s0_ns: int) -> np.ndarray:
    """Sensor timestamps (ns, Polar epoch) of phone-clock instants ``tau`` (session s)."""
    return s0_ns + np.round(np.asarray(tau) / (1 + DRIFT) * 1e9).astype(np.int64)


def write_sampled(path: Path, header: str, tau: np.ndarray, rows: np.ndarray, frame: int,
                  rng: np.random.Generator, delay=(0.02, 0.12), ms_column: bool = False,
                  s0_ns: int | None = None) -> np.ndarray:
    """A sampled stream as the app writes it: frames of ``frame`` samples, every sample of a
    frame stamped with the frame's arrival (its last sample + a BLE delay); returns the phone
    timestamps (s)."""
    s0 = int((T0 - POLAR_EPOCH).total_seconds() * 1e9) + 3_141_592_653 if s0_ns is None else s0_ns
    ns = sensor_ns(tau, s0)
    phone = np.empty(len(tau))
    for a in range(0, len(tau), frame):
        b = min(a + frame, len(tau))
        phone[a:b] = tau[b - 1] + rng.uniform(*delay)
    lines = [header]
    for i, row in enumerate(rows):
        cells = [stamp(phone[i]), str(ns[i])]
        if ms_column:
            cells.append(f"{(ns[i] - ns[0]) / 1e6:.6f}".rstrip("0").rstrip(".") or "0.0")
        lines.append(";".join(cells + [str(v) for v in np.atleast_1d(row)]))
    path.write_text("\n".join(lines) + "\n")
    return stamp_s(phone)


def beat_batches(rr_ms: np.ndarray, first: float, rng: np.random.Generator, late=(0.5, 1.5)):
    """True beat times (s) of integer RR intervals and the notifications carrying them: one a
    second on the strap's schedule, each arriving ``late`` s after its last beat; returns the
    beats, the phone timestamp (s) of each interval's notification and the rows."""
    beats = first + np.cumsum(rr_ms) / 1000.0
    schedule = np.arange(first + 1.0, beats[-1] + 1.0, 1.0)
    batch = np.searchsorted(schedule, beats)
    arrival, last = np.empty(len(beats)), -np.inf
    for k in np.unique(batch):
        idx = np.flatnonzero(batch == k)
        last = max(beats[idx[-1]] + rng.uniform(*late), last + 0.002)
        arrival[idx] = last
    return beats, stamp_s(arrival), [(stamp(a), int(r)) for a, r in zip(arrival, rr_ms)]


def synthetic_rr(n: int, rng: np.random.Generator) -> np.ndarray:
    """Integer RR intervals (ms) with respiratory and slower oscillations."""
    t = np.cumsum(np.full(n, 0.85))
    return np.round(850 + 40 * np.sin(2 * np.pi * 0.1 * t) + 25 * np.sin(2 * np.pi * 0.25 * t)
                    + rng.normal(0, 8, n)).astype(int)


@pytest.fixture(scope="module")
def h10(tmp_path_factory):
    """An H10 session of Polar Sensor Logger files (ECG 130 Hz, ACC 50 Hz, HR, RR) and the truth."""
    import neurokit2 as nk

    folder = tmp_path_factory.mktemp("psl")
    rng = np.random.default_rng(7)
    duration = 120
    ecg_mv = nk.ecg_simulate(duration=duration, sampling_rate=130, heart_rate=68, random_state=3)
    ecg_uv = np.round(ecg_mv * 1000).astype(int)
    ecg_tau = 0.6 + np.arange(len(ecg_uv)) / 130 * (1 + DRIFT)     # phone-clock sample instants
    ecg_phone = write_sampled(folder / f"{STEM}_ECG.txt", ECG_HEADER, ecg_tau, ecg_uv, 73, rng,
                              ms_column=True)
    n_acc = 50 * 110
    acc_tau = 2.0 + np.arange(n_acc) / 50 * (1 + DRIFT)
    acc_mg = np.round(np.column_stack([30 + 5 * rng.standard_normal(n_acc),
                                       -960 + 20 * np.sin(2 * np.pi * 0.25 * acc_tau),
                                       250 + 5 * rng.standard_normal(n_acc)])).astype(int)
    acc_phone = write_sampled(folder / f"{STEM}_ACC.txt", ACC_HEADER, acc_tau, acc_mg, 36, rng)
    rr = synthetic_rr(135, rng)
    beats, arrival, rows = beat_batches(rr, 0.35, rng)
    (folder / f"{STEM}_RR.txt").write_text(RR_HEADER + "\n" + "".join(f"{a};{r}\n" for a, r in rows))
    hr_stamps = np.unique(arrival)
    hr = np.round(60000 / np.array([rr[arrival == a].mean() for a in hr_stamps])).astype(int)
    hr_lines = [f"{stamp(a + 0.0005)};{h};{'42.5' if k % 5 == 4 else ''};;"
                for k, (a, h) in enumerate(zip(hr_stamps, hr))]
    (folder / f"{STEM}_HR.txt").write_text(HR_HEADER + "\n" + "\n".join(hr_lines) + "\n")
    return dict(folder=folder, ecg_uv=ecg_uv, ecg_tau=ecg_tau, ecg_phone=ecg_phone, acc_mg=acc_mg,
                acc_tau=acc_tau, acc_phone=acc_phone, rr=rr, beats=beats, arrival=arrival,
                hr=hr, hr_stamps=stamp_s(hr_stamps + 0.0005))


def session_seconds(rec) -> float:
    """Session time 0 of ``rec`` in the tests' session seconds (from T0)."""
    return (np.datetime64(rec.meta["start_local"]) - np.datetime64(T0)) / np.timedelta64(1, "us") / 1e6


def test_h10_session_streams_values_and_clocks(h10):
    rec = read_polar(h10["folder"] / f"{STEM}_ECG.txt")
    assert {n: (s.kind, s.unit, s.channels) for n, s in rec.streams.items()} == {
        "polar.ecg": ("ecg", "mV", ("ecg",)), "polar.acc": ("acc", "g", ("x", "y", "z")),
        "polar.hr": ("hr", "bpm", ("hr", "hrv")), "polar.rr": ("rr", "ms", ("rr",))}
    m = rec.meta
    assert m["format"] == "polar-sensor-logger" and m["device"] == "Polar_H10_A1B2C3D4"
    assert sorted(m["files"]) == sorted(f"{STEM}_{s}.txt" for s in ("ECG", "ACC", "HR", "RR"))
    assert any("'timestamp [ms]'" in s for s in m["skipped"])
    assert any("'Breathing interval [rpm]' is empty on every row" in s for s in m["skipped"])
    origin = session_seconds(rec)

    ecg = rec.signals["polar.ecg"]
    assert ecg.fs == pytest.approx(130, rel=1e-3) and rec.streams["polar.ecg"].rate == ecg.fs
    np.testing.assert_array_equal(ecg.values, h10["ecg_uv"] * 1e-3)      # uV -> mV
    late = origin + ecg.times - h10["ecg_tau"]          # mapped minus true sample instant, s
    assert late.min() > -0.003 and late.max() < 0.125   # the BLE delay of the fastest frame
    assert np.all(origin + ecg.times <= h10["ecg_phone"] + 0.002)   # never after the arrival
    assert rec.gaps("polar.ecg") == []

    acc = rec.signals["polar.acc"]
    assert acc.fs == pytest.approx(50, rel=1e-3)
    np.testing.assert_array_equal(acc.values, h10["acc_mg"] * 1e-3)      # mg -> g
    late = origin + acc.times - h10["acc_tau"]
    assert late.min() > -0.003 and late.max() < 0.125

    rr = rec.signals["polar.rr"]
    assert rr.fs == 0 and len(rr) == len(h10["rr"])
    np.testing.assert_array_equal(rr.values, h10["rr"])
    beats = origin + rr.times
    assert np.all(beats >= h10["beats"] - 1e-6)            # late by the arrival delay ...
    assert np.all(beats - h10["beats"] <= 1.5)             # ... at most the largest delay
    assert np.all(beats <= h10["arrival"] + 1e-6)          # never after the arrival
    assert np.all(np.diff(beats) > 0)
    # within one notification consecutive beats lie exactly one RR apart
    same = np.diff(h10["arrival"]) == 0
    np.testing.assert_allclose(np.diff(rr.times)[same], h10["rr"][1:][same] / 1000, atol=1e-9)

    hr = rec.signals["polar.hr"]
    np.testing.assert_allclose(origin + hr.times, h10["hr_stamps"], atol=1e-6)
    np.testing.assert_array_equal(hr.values[:, 0], h10["hr"])
    hrv = hr.values[:, 1]
    assert np.all(hrv[4::5] == 42.5) and np.isnan(np.delete(hrv, np.s_[4::5])).all()

    # session time 0 is the session's earliest instant on the phone clock
    first = min(float(s.times.min()) for s in rec.signals.values())
    assert first == pytest.approx(0.0, abs=1e-9)
    assert origin <= min(h10["ecg_phone"].min(), h10["arrival"].min())
    assert m["start_local"].startswith("2026-04-24T14:10:1")


def test_any_file_of_a_session_reads_the_whole_session(h10, tmp_path):
    folder = tmp_path
    for p in h10["folder"].iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    other = folder / "Polar_H10_A1B2C3D4_20260424_150000_RR.txt"      # a later session
    other.write_text(RR_HEADER + "\n2026-04-24T15:00:01.000;900\n")
    (folder / "Polar_H10_FFFF0000_20260424_141015_RR.txt").write_text(   # another strap
        RR_HEADER + "\n2026-04-24T14:10:17.000;800\n")
    (folder / f"{STEM}_NOTES.txt").write_text("my own notes\n")            # not the app's
    from_ecg = read_polar(folder / f"{STEM}_ECG.txt")
    from_rr = read_polar(folder / f"{STEM}_RR.txt")
    assert list(from_rr.streams) == list(from_ecg.streams) == ["polar.ecg", "polar.acc", "polar.hr",
                                                                "polar.rr"]
    assert from_rr.meta["start_local"] == from_ecg.meta["start_local"]
    for name in from_ecg.streams:
        np.testing.assert_array_equal(from_rr.signals[name].times, from_ecg.signals[name].times)
    assert any(s.startswith(f"{STEM}_NOTES.txt: not a Polar Sensor Logger stream")
               for s in from_rr.meta["skipped"])
    alone = read_polar(folder / f"{STEM}_RR.txt", session=False)
    assert list(alone.streams) == ["polar.rr"] and alone.meta["files"] == [f"{STEM}_RR.txt"]
    later = read_polar(other)
    assert list(later.streams) == ["polar.rr"] and later.meta["start_local"].startswith(
        "2026-04-24T15:00:0")


def test_header_variants_trailing_separators_and_spaces(tmp_path):
    rows = ["2026-07-26T21:56:26.765;838432586543515816;0.0;-166",
            "2026-07-26T21:56:26.765;838432586551208104;7.692288;-150",
            "2026-07-26T21:56:26.765;838432586558900392;15.384576;-122"]
    for i, header in enumerate([ECG_HEADER + ";", ECG_HEADER + " ", ECG_HEADER + "; ",
                                "\ufeff" + ECG_HEADER.replace("uV", "µV"),
                                "phone timestamp; sensor timestamp [ns] ;timestamp [ms];ECG [uV]"]):
        path = tmp_path / f"Polar_H10_0A1B2C3D_20260726_215626_ECG{i}.txt"
        path.write_text(header + "\n" + "\n".join(r + ";" * (i % 2) for r in rows) + "\r\n")
        assert sniff_polar(header)
        ecg = read_polar(path, session=False).signals["polar.ecg"]
        np.testing.assert_array_equal(ecg.values, [-0.166, -0.150, -0.122])
        assert ecg.fs == pytest.approx(1e9 / 7692288)
    old_hr = tmp_path / "hr_old.txt"          # older app: HR only; the name is none of the app's
    old_hr.write_text("Phone timestamp;HR [bpm] \n2026-04-24 14:10:16.752;64\n2026-04-24 14:10:17.75;65\n")
    hr = read_polar(old_hr).signals["polar.hr"]
    assert hr.channels == ("hr",) and list(hr.values) == [64, 65]
    np.testing.assert_allclose(hr.times, [0.0, 0.998])
    comma = tmp_path / "hr_comma.txt"         # a decimal comma (phone locale) and 2-field rows
    comma.write_text(HR_HEADER + "\n2025-11-17T17:26:16.058;90\n2025-11-17T17:26:17.052;94;12,1\n")
    hr = read_polar(comma).signals["polar.hr"]
    np.testing.assert_array_equal(hr.values[:, 1], [np.nan, 12.1])
    for header in (HR_HEADER, RR_HEADER, PPI_HEADER, PPI_OLD_HEADER, PPG_HEADER, ACC_HEADER + ";",
                   "Phone timestamp;sensor timestamp [ns];X [dps];Y [dps];Z [dps] ",
                   "Phone timestamp;sensor timestamp [ns];X [G];Y [G];Z [G]"):
        assert sniff_polar(header), header
    for line in ("Phone timestamp;ECG", "time_s,ECG", "# OpenSignals Text File Format", "", "RR",
                 "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg]"):
        assert not sniff_polar(line), line


def test_verity_sense_ppi_flags_ppg_and_the_older_ppi_layout(tmp_path):
    rng = np.random.default_rng(11)
    stem = "Polar_Sense_B5C6D7E8_20260424_141015"
    pp = synthetic_rr(80, rng)
    beats, arrival, rows = beat_batches(pp, 0.5, rng, late=(0.3, 1.2))
    blocker = (np.arange(80) % 17 == 3).astype(int)
    contact = (np.arange(80) % 23 != 5).astype(int)
    lines = [PPI_HEADER] + [f"{a};0;{round(60000 / r)};{r};{10 + 20 * b};{b};{c};1"
                            for (a, r), b, c in zip(rows, blocker, contact)]
    (tmp_path / f"{stem}_PPI.txt").write_text("\n".join(lines) + "\n")
    n = 55 * 60
    tau = 0.2 + np.arange(n) / 55 * (1 + DRIFT)
    ppg = np.round(np.column_stack([2.0e5 + 1e4 * np.sin(2 * np.pi * 1.2 * tau + k) for k in range(3)]
                                   + [np.full(n, 1200.0)])).astype(int)
    write_sampled(tmp_path / f"{stem}_PPG.txt", PPG_HEADER, tau, ppg, 28, rng)
    rec = read_polar(tmp_path / f"{stem}_PPI.txt")
    assert list(rec.streams) == ["polar.ppg", "polar.ppi"]
    ppi = rec.signals["polar.ppi"]
    assert ppi.info.kind == "rr" and ppi.unit == "ms" and ppi.channels == (
        "pp", "error_estimate", "blocker", "skin_contact", "skin_contact_supported", "hr")
    np.testing.assert_array_equal(ppi.values[:, 0], pp)                 # flagged beats kept
    np.testing.assert_array_equal(ppi.values[:, 2], blocker)
    np.testing.assert_array_equal(ppi.values[:, 3], contact)
    assert rec.meta["ppi_flags"] == {"intervals": 80, "blocker": int(blocker.sum()),
                                     "no_skin_contact": int((contact == 0).sum())}
    assert any("'sensor timestamp [ns]'" in s for s in rec.meta["skipped"])
    origin = session_seconds(rec)
    assert np.all(origin + ppi.times <= arrival + 1e-6) and np.all(origin + ppi.times >= beats - 1e-6)
    ppg_sig = rec.signals["polar.ppg"]
    assert ppg_sig.fs == pytest.approx(55, rel=1e-3) and ppg_sig.values.shape == (n, 4)
    np.testing.assert_array_equal(ppg_sig.values, ppg)

    old = tmp_path / "Polar_Sense_B5C6D7E8_20250101_080000_PPI.txt"
    old.write_text(PPI_OLD_HEADER + ";\n" + "".join(f"{a};{r};{10 + 20 * b};{b};{c};1;{round(60000 / r)};\n"
                                                   for (a, r), b, c in zip(rows, blocker, contact)))
    again = read_polar(old)
    np.testing.assert_array_equal(again.signals["polar.ppi"].values, ppi.values)
    np.testing.assert_allclose(session_seconds(again) + again.signals["polar.ppi"].times,
                               origin + ppi.times, atol=1e-6)


def test_lost_frames_make_an_irregular_stream_and_lost_beats_restart_the_rr_sequence(tmp_path):
    rng = np.random.default_rng(5)
    n = 130 * 40
    tau = 0.5 + np.arange(n) / 130 * (1 + DRIFT)
    keep = np.ones(n, bool)
    keep[130 * 20:130 * 20 + 146] = False                       # two frames lost
    ecg = np.round(500 * np.sin(np.arange(n) / 10)).astype(int)
    path = tmp_path / f"{STEM}_ECG.txt"
    write_sampled(path, ECG_HEADER, tau[keep], ecg[keep], 73, rng, ms_column=True)
    rr = synthetic_rr(60, rng)
    beats, arrival, rows = beat_batches(rr, 0.4, rng)
    lost = (beats > 20) & (beats < 26)                         # ~6 s of notifications lost
    (tmp_path / f"{STEM}_RR.txt").write_text(RR_HEADER + "\n" + "".join(
        f"{a};{r}\n" for (a, r), gone in zip(rows, lost) if not gone))
    rec = read_polar(path)
    sig = rec.signals["polar.ecg"]
    assert sig.fs == 0 and len(sig) == keep.sum()
    origin = session_seconds(rec)
    late = origin + sig.times - tau[keep]
    assert late.min() > -0.003 and late.max() < 0.125
    assert any(note.startswith("polar.ecg: samples not evenly spaced") for note in rec.meta["notes"])
    assert any(note.startswith("polar.rr: 1 notification(s) arrived more than 2 s later")
               for note in rec.meta["notes"])
    assert rec.meta["time_mapping"]["polar.rr"]["restarts"] == 1
    got = origin + rec.signals["polar.rr"].times
    assert np.all(got >= beats[~lost] - 1e-6) and np.all(got - beats[~lost] <= 1.5)
    assert np.all(got <= arrival[~lost] + 1e-6) and np.all(np.diff(got) > 0)


def test_beats_never_after_their_arrival_nor_backwards(tmp_path):
    """Beats every 0.8 s from 10.0 s (phone clock); the first batch arrives 1.5 s after its last
    beat, the next two 0.5 and 0.6 s: RRBeatTimes alone lowers its offset half an RR a
    notification and puts their last beats 0.6 and 0.1 s after their arrival."""
    path = tmp_path / f"{STEM}_RR.txt"
    rows = [("13.100", 800), ("13.100", 800), ("13.700", 800), ("13.700", 800), ("14.600", 800)]
    path.write_text(RR_HEADER + "\n" + "".join(f"2026-04-24T14:10:{s};{r}\n" for s, r in rows))
    rec = read_polar(path)
    start = np.datetime64(rec.meta["start_local"]) - np.datetime64("2026-04-24T14:10:00")
    beats = start / np.timedelta64(1, "us") / 1e6 + rec.signals["polar.rr"].times   # s from 14:10
    true = 10.0 + 0.8 * np.arange(1, 6)
    arrival = np.array([13.1, 13.1, 13.7, 13.7, 14.6])
    assert np.all(beats <= arrival + 1e-6) and np.all(beats >= true - 1e-6)
    assert np.all(np.diff(beats) >= 0.4 - 1e-6)
    assert rec.meta["time_mapping"]["polar.rr"]["batches_moved_to_arrival"] >= 2
    assert any("moved back to end at their arrival" in note for note in rec.meta["notes"])
    # the phone clock steps back 9 s: the sequence restarts, beat times still increase
    rows[4:] = [("04.600", 800), ("05.400", 800)]
    path.write_text(RR_HEADER + "\n" + "".join(f"2026-04-24T14:10:{s};{r}\n" for s, r in rows))
    rec = read_polar(path)
    assert np.all(np.diff(rec.signals["polar.rr"].times) > 0)
    assert rec.meta["time_mapping"]["polar.rr"]["restarts"] == 1


def test_empty_files_are_skipped_and_non_intervals_listed(tmp_path):
    (tmp_path / f"{STEM}_HR.txt").write_text(HR_HEADER + "\n")
    (tmp_path / f"{STEM}_ACC.txt").write_text("")
    (tmp_path / f"{STEM}_RR.txt").write_text(
        RR_HEADER + "\n2026-04-24T14:10:16.752;937\n2026-04-24T14:10:16.752;0\n"
        "2026-04-24T14:10:17.700;950\n\n")
    rec = read_polar(tmp_path / f"{STEM}_HR.txt")
    assert list(rec.streams) == ["polar.rr"]
    np.testing.assert_array_equal(rec.signals["polar.rr"].values, [937, 950])
    skipped = rec.meta["skipped"]
    assert f"{STEM}_HR.txt: header only, no samples" in skipped
    assert f"{STEM}_ACC.txt: empty file" in skipped
    assert any("1 RR-interval value(s) not in 0 < x <= 65535 ms, not an interval (line(s) 3)" in s for s in skipped)
    alone = tmp_path / "alone" / f"{STEM}_HR.txt"
    alone.parent.mkdir()
    alone.write_text(HR_HEADER + "\n")
    with pytest.raises(FormatError, match=r"_HR.txt: no Polar Sensor Logger samples .*header only"):
        read_polar(alone)


@pytest.mark.parametrize("header, line, message", [
    (RR_HEADER, "2026-04-24T14:10:16;x93", r"line 3: RR-interval \[ms\] is 'x93', expected a number"),
    (RR_HEADER, "24.04.2026 14:10:16;937", r"line 3: Phone timestamp is '24.04.2026 14:10:16', "
                                           r"expected a local date and time like 2026-04-24T14:10:16.752"),
    (RR_HEADER, "2026-02-30T14:10:16.000;937", r"line 3: Phone timestamp is '2026-02-30T14:10:16.000'"),
    (RR_HEADER, "2026-04-24T14:10:16.100;937;12", r"line 3 has 3 field\(s\), expected 2"),
    (ECG_HEADER, "2026-04-24T14:10:16.100;838432586543515816;0.0", r"line 3 has 3 field\(s\), expected 4"),
    (ECG_HEADER, "2026-04-24T14:10:16.100;8.3e17;0.0;-166", r"line 3: sensor timestamp \[ns\] is '8.3e17', "
                                                          r"expected an integer \(ns\)"),
    (ECG_HEADER, "2026-04-24T14:10:16.100;838432586543515816;0.0;nan", r"line 3: ecg \[uV\] is 'nan', "
                                                                      r"expected a number"),
    (ECG_HEADER, "2026-04-24T14:10:16.100;838432586543000000;0.0;-166",
     r"line 3: sensor timestamp \[ns\] 838432586543000000 is earlier than line 2's"),
    (HR_HEADER, "2026-04-24T14:10:16.100;64;abc;", r"line 3: HRV \[ms\] is 'abc', expected a number or nothing"),
    (HR_HEADER, "2026-04-24T14:10:16.100", r"line 3 has 1 field\(s\), expected 2 to 4"),
])
def test_bad_lines_name_file_line_field_and_expectation(tmp_path, header, line, message):
    first = {RR_HEADER: "2026-04-24T14:10:15.000;937", HR_HEADER: "2026-04-24T14:10:15.000;64;;",
             ECG_HEADER: "2026-04-24T14:10:15.000;838432586543515816;0.0;-166"}[header]
    path = tmp_path / f"{STEM}_X.txt"
    path.write_text(f"{header}\n{first}\n{line}\n")
    with pytest.raises(FormatError, match=rf"{STEM}_X.txt: {message}"):
        read_polar(path)


def test_unknown_header_of_the_read_file(tmp_path):
    path = tmp_path / f"{STEM}_ECG.txt"
    path.write_text("time;ecg\n0;1\n")
    with pytest.raises(FormatError, match=r"_ECG.txt: line 1 is 'time;ecg', expected a Polar Sensor "
                                          r"Logger header"):
        read_polar(path)
    path.write_bytes(b"")
    with pytest.raises(FormatError, match=r"no Polar Sensor Logger samples .*empty file"):
        read_polar(path)


_VALID_ROWS = {
    RR_HEADER: st.tuples(st.integers(-2, 4000)).map(lambda r: f"{r[0]}"),
    ECG_HEADER: st.tuples(st.integers(0, 2 ** 62), st.integers(-5000, 5000)).map(
        lambda r: f"{r[0]};0.0;{r[1]}"),
    HR_HEADER: st.tuples(st.integers(0, 250), st.sampled_from(["", "42.5", "12,1"])).map(
        lambda r: f"{r[0]};{r[1]};;"),
    PPI_HEADER: st.tuples(st.integers(-1, 3000), st.integers(0, 1)).map(
        lambda r: f"0;60;{r[0]};20;{r[1]};1;1"),
    ACC_HEADER: st.tuples(st.integers(0, 2 ** 62), st.integers(-8000, 8000)).map(
        lambda r: f"{r[0]};{r[1]};{r[1]};{r[1]}"),
}


@st.composite
def polar_text(draw) -> str:
    header = draw(st.sampled_from(sorted(_VALID_ROWS)))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        t = draw(st.floats(-1e4, 1e6, allow_nan=False))
        row = f"{stamp(t)};{draw(_VALID_ROWS[header])}"
        if draw(st.integers(0, 5)) == 0:      # mutate: cut, splice garbage
            cut = draw(st.integers(0, len(row)))
            row = row[:cut] + draw(st.text(max_size=8)) + row[cut:]
        rows.append(row)
    tail = draw(st.one_of(st.just(""), st.text(max_size=40),
                          st.text(alphabet="0123456789-:T.;, e\n\r", max_size=80)))
    return header + draw(st.sampled_from(["", ";", " ", "; "])) + "\n" + "\n".join(rows) + tail


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.one_of(polar_text(), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                         st.text(max_size=200)))
def test_fuzz_polar_gives_a_recording_or_a_format_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{STEM}_RR.txt"
        path.write_bytes(content.encode("utf-8", "surrogatepass"))
        try:
            rec = read_polar(path)
        except FormatError:
            return
        for sig in rec.signals.values():
            assert len(sig.times) == len(sig.values)


# -- RR-interval text files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rr_ms():
    return synthetic_rr(300, np.random.default_rng(3)).astype(float)


def test_rr_text_one_column_in_ms_and_in_s(tmp_path, rr_ms):
    elite = tmp_path / "elite.txt"                     # Elite HRV: one integer ms a line
    elite.write_text("\n".join(str(int(r)) for r in rr_ms) + "\n")
    sig = read_rr_text(elite).signals["rr"]
    assert sig.info.kind == "rr" and sig.unit == "ms" and sig.fs == 0 and sig.channels == ("rr",)
    np.testing.assert_array_equal(sig.values, rr_ms)
    np.testing.assert_allclose(sig.times, np.cumsum(rr_ms) / 1000)
    assert sig.times[0] == rr_ms[0] / 1000             # the first beat ends the first interval
    median = np.median(rr_ms)
    assert read_rr_text(elite).meta["rr_unit_detected"] == f"ms, from the values (median {median:g})"
    kubios = tmp_path / "kubios.txt"                   # Kubios: s, a header, comments, CRLF
    kubios.write_bytes(("# exported RR\r\nRR\r\n" + "".join(f"{r / 1000:.3f}\r\n" for r in rr_ms)
                        + "\r\n# end\r\n").encode())
    rec = read_rr_text(kubios)
    np.testing.assert_allclose(rec.signals["rr"].values, rr_ms)
    np.testing.assert_allclose(rec.signals["rr"].times, np.cumsum(rr_ms) / 1000)
    assert rec.meta["rr_unit_detected"] == f"s, from the values (median {median / 1000:g})"
    assert rec.meta["format"] == "rr-text"
    ibi = tmp_path / "ibi.txt"
    ibi.write_text("IBI (s)\n" + "".join(f"{r / 1000}\n" for r in rr_ms))
    assert read_rr_text(ibi).meta["rr_unit_detected"] == "s, from the header ('IBI (s)')"
    named = tmp_path / "named.csv"
    named.write_text("rr_ms\n" + "".join(f"{r:g}\n" for r in rr_ms))
    assert read_rr_text(named).meta["rr_unit_detected"] == "ms, from the header ('rr_ms')"


def test_rr_text_two_columns_any_separator(tmp_path, rr_ms):
    beats = 12.0 + np.cumsum(rr_ms) / 1000
    variants = {
        "comma.csv": "time,rr\n" + "".join(f"{t:.3f},{r:g}\n" for t, r in zip(beats, rr_ms)),
        "tab.txt": "RR (ms)\tTime (s)\n" + "".join(f"{r:g}\t{t:.3f}\n".replace(".", ",")
                                                    for t, r in zip(beats, rr_ms)),
        "space.txt": "".join(f"  {t:.3f}   {r / 1000:.3f} \n" for t, r in zip(beats, rr_ms)),
        "semicolon_ms.txt": "".join(f"{t * 1000:.0f};{r:g};\n" for t, r in zip(beats, rr_ms)),
    }
    for name, text in variants.items():
        path = tmp_path / name
        path.write_text(text)
        rec = read_rr_text(path)
        sig = rec.signals["rr"]
        np.testing.assert_allclose(sig.values, rr_ms, err_msg=name)
        np.testing.assert_allclose(sig.times, beats, atol=1e-3, err_msg=name)
        assert "time_unit_detected" in rec.meta, name
    assert read_rr_text(tmp_path / "semicolon_ms.txt").meta["time_unit_detected"].startswith(
        "ms, from the steps")
    assert read_rr_text(tmp_path / "tab.txt").meta["time_unit_detected"] == "s, from the header ('Time (s)')"


def test_rr_text_unit_override_and_physiological_range(tmp_path):
    mouse = tmp_path / "mouse.txt"
    mouse.write_text("".join(f"{r}\n" for r in [98, 102, 100, 97, 105]))
    with pytest.raises(FormatError, match=r"mouse.txt: the intervals have median 100, expected a "
                                          r"physiological RR median of 200-3000 \(ms\) or 0.2-3 \(s\)"):
        read_rr_text(mouse)
    rec = read_rr_text(mouse, unit="ms")
    np.testing.assert_array_equal(rec.signals["rr"].values, [98, 102, 100, 97, 105])
    assert rec.meta["rr_unit_detected"] == "ms, stated by the caller (unit='ms')"
    seconds = tmp_path / "seconds.txt"
    seconds.write_text("0.8\n0.9\n1.0\n")
    np.testing.assert_allclose(read_rr_text(seconds, unit="ms").signals["rr"].values, [0.8, 0.9, 1.0])
    np.testing.assert_allclose(read_rr_text(seconds, unit="s").signals["rr"].values, [800, 900, 1000])
    with pytest.raises(FormatError, match=r"unit='us', expected 'ms' or 's'"):
        read_rr_text(seconds, unit="us")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("rr_ms\n0.8\n0.9\n")
    with pytest.raises(FormatError, match=r"wrong.txt: the intervals have median 0.85 ms, the header "
                                          r"says 'rr_ms': expected a physiological RR median of 200-3000 ms"):
        read_rr_text(wrong)
    assert read_rr_text(wrong, unit="s").meta["rr_unit_detected"] == (
        "s, stated by the caller (unit='s'); the header says 'rr_ms'")
    huge = tmp_path / "huge.txt"
    huge.write_text("5000\n6000\n7000\n")
    with pytest.raises(FormatError, match=r"median 6000, expected a physiological RR median"):
        read_rr_text(huge)


@pytest.mark.parametrize("text, message", [
    ("", r"no RR intervals \(the file is empty or only comments\)"),
    ("# nothing\n\n", r"no RR intervals"),
    ("RR\n", r"only a header \(line 1\), no RR intervals"),
    ("800\n810\nabc\n", r"line 3: 'abc' is not a number"),
    ("RR\n800\nRR\n", r"line 3: 'RR' is not a number, expected .* \(the header is line 1\)"),
    ("800\n0\n810\n", r"line 2: interval 0 is not > 0"),
    ("800\n-5\n", r"line 2: interval -5 is not > 0"),
    ("800 1 2\n", r"line 1 has 3 numbers, expected one \(an RR interval\) or two"),
    ("800\n1.0 810\n", r"line 2 has 2 number\(s\), expected 1 as line 1"),
    ("time;rr;hr\n1;800\n", r"the header \(line 1\) names 3 column\(s\), the lines hold 2"),
    ("1,800\n1,810\n", r"line 2: beat time 1 is not after line 1's 1"),
    ("0,845\n0,790\n0,910\n", r"line 2: beat time 0 is not after .*; a decimal comma\?"),
    ("1e999\n", r"line 1: '1e999' is out of range, expected a finite number"),
    (",\n", r"line 1 holds no number"),
    ("1 800\n2 800\n300 800\n400 800\n", r"the time column steps by 100 \(median\), the "
                                          r"intervals by 0.8 s: expected a time column in s or ms"),
])
def test_rr_text_malformed(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(FormatError, match=rf"bad.txt: {message}"):
        read_rr_text(path)


def test_rr_text_sniff():
    assert sniff_rr(["812", "790", "845"])
    assert sniff_rr(["# Kubios", "RR", "0.812", "0.790"])
    assert sniff_rr(["time,rr", "0.81,810", "1.6,790"])
    assert sniff_rr(["IBI (s)\r\n", "0.81\r\n", "\r\n", "0.79\r\n"])
    assert sniff_rr(["0.81\t810"] * 20 + ["x y z"])                 # only the first 20 lines
    assert not sniff_rr([])
    assert not sniff_rr(["RR"])                                      # a header, no data
    assert not sniff_rr([RR_HEADER, "2026-04-24T14:10:16.752;937"])   # Polar Sensor Logger
    assert not sniff_rr(["time_s,ECG", "0.00,0.12", "0.01,0.15"])      # a signal table
    assert not sniff_rr(["0.00,0.012", "0.01,0.015"])                  # no header, not RR values
    assert not sniff_rr(["# OpenSignals Text File Format", '# {"a": 1}', "# EndOfHeader",
                         "0\t0\t512\t488\t"])
    assert not sniff_rr(["800", "810 1 2"])
    assert not sniff_rr(["Some words here", "more words"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.text(alphabet="0123456789.,;\t -e#\nRrms", max_size=120),
    st.tuples(st.sampled_from(["", "RR\n", "rr_ms\n", "IBI (s)\n", "time,rr\n", "t;ibi\n"]),
              st.lists(st.one_of(st.floats(-10, 5000), st.sampled_from([float("nan"), float("inf"), 0.0])),
                       max_size=30),
              st.sampled_from([",", ";", "\t", " "]), st.booleans()).map(
        lambda a: a[0] + "".join((f"{i * 0.8:g}{a[2]}" if a[3] else "") + f"{v:g}\n"
                                 for i, v in enumerate(a[1])))),
    unit=st.sampled_from([None, "ms", "s"]))
def test_fuzz_rr_text_gives_a_recording_or_a_format_error(content, unit):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rr.txt"
        path.write_bytes(content.encode("utf-8", "surrogatepass"))
        try:
            rec = read_rr_text(path, unit=unit)
        except FormatError:
            return
        sig = rec.signals["rr"]
        assert len(sig) and np.all(sig.values > 0) and np.all(np.isfinite(sig.times))
        sniff_rr(content.splitlines())
