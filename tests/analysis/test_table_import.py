"""CSV/TSV tables (issue 14, item 6): timestamp jitter within a stated tolerance keeps a regular
stream regular at its nominal rate; every error names the file, the line and the column."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from biofeed.record.importers.common import FormatError
from biofeed.record.importers.table import JITTER, read_table


def _write(folder: Path, times, name="rec.csv", fmt="{!r}", extra="") -> Path:
    path = folder / name
    path.write_text("time_s,ECG\n" + extra + "".join(f"{fmt.format(float(t))},{i % 7}\n"
                                                     for i, t in enumerate(times)))
    return path


def test_one_timestamp_half_a_millisecond_off_keeps_250_hz_ecg_regular(tmp_path):
    times = np.arange(2500) / 250.0
    times[100] += 0.0005                      # 12.5 % of a 4 ms period
    rec = read_table(_write(tmp_path, times))
    ecg = rec.signals["ECG"]
    assert rec.streams["ECG"].regular and rec.streams["ECG"].rate == 250.0
    np.testing.assert_allclose(ecg.times, np.arange(2500) / 250.0, atol=1e-12)   # the grid
    assert len(rec.meta["notes"]) == 1
    assert re.search(r"column 'time_s': times up to 0.0005 s \(12.5 % of a sample period\) off a "
                     r"regular 250 Hz grid \(tolerance 25 %\): imported as regular at 250 Hz",
                     rec.meta["notes"][0])


@pytest.mark.parametrize("fs", [250.0, 256.0, 500.0, 100.0, 32.0])
def test_times_written_to_the_millisecond_give_the_whole_nominal_rate(tmp_path, fs):
    rec = read_table(_write(tmp_path, 12.0 + np.arange(3000) / fs, fmt="{:.3f}"))
    info = rec.streams["ECG"]
    assert info.regular and info.rate == fs
    assert rec.signals["ECG"].times[0] == pytest.approx(12.0, abs=0.5e-3)


def test_random_jitter_within_the_tolerance_and_a_non_integer_rate(tmp_path):
    rng = np.random.default_rng(4)
    fs = 7.8125
    times = 3.0 + np.arange(400) / fs + rng.uniform(-0.2, 0.2, 400) / fs
    rec = read_table(_write(tmp_path, times))
    info = rec.streams["ECG"]
    assert info.regular and info.rate == pytest.approx(fs, rel=1e-3)
    grid = rec.signals["ECG"].times
    assert np.max(np.abs(grid - times)) <= JITTER / info.rate
    np.testing.assert_allclose(np.diff(grid), 1 / info.rate)


def test_exact_times_are_kept_exactly(tmp_path):
    times = 5.0 + np.arange(100) / 4.0
    rec = read_table(_write(tmp_path, times))
    assert rec.streams["ECG"].rate == 4.0 and "notes" not in rec.meta
    np.testing.assert_array_equal(rec.signals["ECG"].times, times)


def test_beyond_the_tolerance_or_with_a_gap_the_stream_is_irregular(tmp_path):
    times = np.arange(1000) / 250.0
    times[500] += 0.3 / 250.0                 # 30 % of a period off the grid of the others
    rec = read_table(_write(tmp_path, times, "off.csv"))
    assert not rec.streams["ECG"].regular
    np.testing.assert_array_equal(rec.signals["ECG"].times, times)
    gap = np.delete(np.arange(1000) / 250.0, 400)      # one sample missing
    assert not read_table(_write(tmp_path, gap, "gap.csv")).streams["ECG"].regular
    assert not read_table(_write(tmp_path, [0.0, 0.5], "two.csv")).streams["ECG"].regular
    with pytest.raises(FormatError, match=r"empty.csv: no data rows under the header \['time_s', 'ECG'\]"):
        read_table(_write(tmp_path, [], "empty.csv"))


@pytest.mark.parametrize("body, expected", [
    ("0,1\n0,2\n0,3\n", r"line 3, column 'time_s': time 0.0 s is not after the previous row's 0.0 s; "
                        r"the times must increase"),
    ("0,1\n0.1,2\n\n0.05,3\n", r"line 5, column 'time_s': time 0.05 s is not after the previous row's 0.1 s"),
    ("0,1\n0.1,2\nabc,3\n", r"column 'time_s' holds non-numeric values, expected times in seconds: "
                            r"line 4, column 'time_s': 'abc' is not a time in seconds"),
    ("0,1\n,2\n0.2,3\n", r"line 3, column 'time_s': empty, expected a finite time in seconds"),
    ("0,1\ninf,2\n", r"line 3, column 'time_s': inf, expected a finite time in seconds"),
    ("0,1\n0.1,x\n0.2,3\n", r"column\(s\) \['ECG'\] hold non-numeric values, expected numbers: "
                            r"line 3, column 'ECG': 'x' is not a number"),
])
def test_every_error_names_the_file_line_and_column(tmp_path, body, expected):
    path = tmp_path / "bad table.csv"
    path.write_text("time_s,ECG\n" + body)
    with pytest.raises(FormatError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert re.search(expected, message), message


def test_equal_times_never_divide_by_zero(tmp_path):
    path = _write(tmp_path, [1.0] * 50)
    with pytest.raises(FormatError, match=r"line 3, column 'time_s': time 1.0 s is not after"):
        read_table(path)


_CELLS = st.one_of(st.sampled_from(["", "0", "1", "-1", "0.004", "1e308", "-1e308", "inf", "nan",
                                    "NaN", "x", "1,2", '"', '"a,b"', " ", "1e-320", "0x10", "١"]),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.text(max_size=5))
_HEADERS = st.lists(st.sampled_from(["time_s", "time", "ECG", "EDA", "RSP", "ecg:a", "ecg:b",
                                     "PPG", "temp", "x", "", "ECG"]), min_size=1, max_size=4)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=_HEADERS, rows=st.lists(st.lists(_CELLS, min_size=0, max_size=5), max_size=12),
       sep=st.sampled_from([",", "\t", ";"]), rate=st.sampled_from([None, 100.0]),
       suffix=st.sampled_from([".csv", ".tsv"]))
def test_fuzz_only_format_errors_escape(header, rows, sep, rate, suffix):
    text = sep.join(header) + "\n" + "".join(sep.join(r) + "\n" for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            rec = read_table(path, rate=rate)
        except FormatError as exc:
            assert str(exc).startswith(f"{path}: ")
        else:
            for name, info in rec.streams.items():
                times = rec.signals[name].times
                assert np.all(np.isfinite(times)) and np.all(np.diff(times) > 0)


@settings(max_examples=100, deadline=None)
@given(fs=st.sampled_from([4.0, 32.0, 100.0, 250.0, 256.0, 500.0]), n=st.integers(50, 600),
       t0=st.floats(0, 1e6), jitter=st.floats(0, 0.1), seed=st.integers(0, 2**16))
def test_fuzz_jitter_within_the_tolerance_stays_regular(fs, n, t0, jitter, seed):
    rng = np.random.default_rng(seed)
    times = t0 + (np.arange(n) + rng.uniform(-jitter, jitter, n)) / fs
    with tempfile.TemporaryDirectory() as tmp:
        rec = read_table(_write(Path(tmp), times))
    info = rec.streams["ECG"]
    assert info.regular
    assert info.rate == pytest.approx(fs, rel=1.0 / (n - 1))
    assert np.max(np.abs(rec.signals["ECG"].times - times)) * info.rate <= JITTER + 1e-6


def test_a_table_cut_at_any_byte_reads_the_whole_rows_and_says_when_a_row_was_cut(tmp_path):
    """Truncation (issue 14): every cut after the first data row reads exactly the whole rows
    before it; a last line without a line end (a cut inside it: ``4.09`` of ``4.0958`` would
    read as another number) is left out and noted; a cut at a line end reads as complete (a
    table has no footer to tell)."""
    rng = np.random.default_rng(3)
    path = tmp_path / "whole.csv"
    path.write_text("time_s,ECG,EDA\n" + "".join(f"{i / 250:.3f},{v:.4f},{4 + v / 10:.5f}\n"
                                                 for i, v in enumerate(rng.normal(size=400))))
    whole = read_table(path)
    data = path.read_bytes()
    first_row_end = data.index(b"\n", data.index(b"\n") + 1) + 1
    cut = tmp_path / "cut.csv"
    noted = 0
    for size in range(first_row_end, len(data), 37):
        cut.write_bytes(data[:size])
        rec = read_table(cut)
        rows = data[:size].count(b"\n") - 1
        assert len(rec.signals["ECG"]) == rows, size
        for name in ("ECG", "EDA"):
            np.testing.assert_array_equal(rec.signals[name].values, whole.signals[name].values[:rows])
        notes = [n for n in rec.meta.get("notes", []) if "no line end" in n]
        assert bool(notes) == (not data[:size].endswith(b"\n")), size
        noted += bool(notes)
    assert noted > 100
