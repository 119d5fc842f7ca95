"""Fuzzing every importer through :func:`biofeed.read`: valid files of each format damaged at
random (bytes replaced, cut short, inserted) and arbitrary content under each format's name.
Whatever the content, the only error is the documented one, :class:`FormatError` (a
:class:`SessionFileError` for what is taken as a session file), naming the file."""
from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import biofeed as bf
from biofeed.record.reader import Recording, SessionFileError
from format_writers import write_bids_physio, write_e4, write_edf_plus, write_opensignals, write_xdf

FS = 50.0
RNG = np.random.default_rng(3)
ECG, EDA = np.sin(np.arange(500) / 7.0), 5 + np.cos(np.arange(500) / 50.0)


def _wfdb(folder: Path) -> Path:
    import wfdb
    wfdb.wrsamp("rec", fs=FS, units=["mV", "mmHg"], sig_name=["MLII", "ABP"],
                p_signal=np.column_stack([ECG, 80 + 10 * EDA]), fmt=["16", "16"],
                write_dir=str(folder))
    wfdb.wrann("rec", "atr", np.array([10, 60, 110]), ["N", "V", "N"], write_dir=str(folder))
    return folder / "rec.hea"


def _edf(folder: Path) -> Path:
    digital = np.round(ECG * 1000).astype(int)
    return write_edf_plus(folder / "rec.edf", [("ECG", "uV", 50, digital), ("GSR", "uS", 5, digital[::10])],
                          [(1.0, 0.0, "start"), (4.5, 2.0, "stimulus")])


def _xdf(folder: Path) -> Path:
    write_xdf(folder / "rec.xdf", ECG, EDA, FS, [(1.0, "start"), (5.0, "stop")])
    return folder / "rec.xdf"


def _bids(folder: Path) -> Path:
    return write_bids_physio(folder, "sub-01_task-x", FS, 0.0, {"cardiac": ECG, "eda": EDA}, {"eda": "uS"})


def _opensignals(folder: Path) -> Path:
    write_opensignals(folder / "rec.txt", 512 + 100 * ECG, 300 + 10 * EDA, int(FS))
    return folder / "rec.txt"


def _e4(folder: Path) -> Path:
    write_e4(folder / "e4", 1.6e9, EDA[:40], ECG[:640], RNG.integers(-64, 64, (320, 3)),
             [(1.0, 0.8), (1.8, 0.8)], [1.6e9 + 3])
    archive = shutil.make_archive(str(folder / "e4"), "zip", folder / "e4")
    return Path(archive)


def _table(folder: Path) -> Path:
    path = folder / "rec.csv"
    path.write_text("time_s,ECG,EDA\n" + "".join(f"{i / FS},{a},{b}\n" for i, (a, b) in
                                                 enumerate(zip(ECG, EDA))))
    return path


WRITERS = {"wfdb": _wfdb, "wfdb-header": _wfdb, "edf": _edf, "xdf": _xdf, "bids": _bids,
           "bids-sidecar": _bids, "opensignals": _opensignals, "e4": _e4, "table": _table}

#: Where each writer's files are damaged: the file read, or one beside it.
_TARGET = {"wfdb": lambda p: p.with_suffix(".dat"), "bids-sidecar": lambda p: p.with_name(
    "sub-01_task-x_physio.json")}


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """One valid file per format (checked to open), and its bytes."""
    out = {}
    for name, writer in WRITERS.items():
        folder = tmp_path_factory.mktemp(name)
        path = writer(folder)
        assert isinstance(bf.read(path), Recording), name
        out[name] = path
    return out


def _read(path: Path) -> None:
    try:
        rec = bf.read(path)
    except SessionFileError as exc:             # FormatError is one: the documented error
        assert str(exc).startswith(str(path.parent)), exc     # names the file (or one beside it)
        return
    assert isinstance(rec, Recording)
    for name in rec.streams:                    # what was read is readable
        sig = rec.signals[name]
        assert len(sig.times) == sig.values.shape[0]


damage = st.lists(st.tuples(st.sampled_from(["replace", "cut", "insert"]), st.floats(0, 1),
                            st.binary(min_size=1, max_size=8)), min_size=1, max_size=4)


def _damaged(data: bytes, edits) -> bytes:
    for op, where, blob in edits:
        at = int(where * len(data))
        if op == "replace":
            data = data[:at] + blob + data[at + len(blob):]
        elif op == "cut":
            data = data[:at]
        else:
            data = data[:at] + blob + data[at:]
    return data


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(WRITERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=damage)
def test_damaged_files_give_the_documented_error_or_a_recording(valid, fmt, edits):
    source = valid[fmt]
    target = _TARGET.get(fmt, lambda p: p)(source)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.parent.name
        shutil.copytree(source.parent, copy)
        damaged = copy / target.relative_to(source.parent)
        damaged.write_bytes(_damaged(target.read_bytes(), edits))
        _read(copy / source.relative_to(source.parent))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(["x.hea", "x.edf", "x.bdf", "x.xdf", "x.txt", "x.csv", "x.tsv", "x.zip",
                             "x_physio.tsv.gz", "x.biofeed", "x"]),
       content=st.one_of(st.binary(max_size=600), st.text(max_size=400).map(str.encode),
                         st.sampled_from([b"XDF:", b"0       ", b"\xffBIOSEMI", b"SQLite format 3\x00",
                                          b"\x1f\x8b", b"PK\x03\x04", b"# OpenSignals",
                                          b"100 2 360 650000\n"]).flatmap(
                             lambda magic: st.binary(max_size=400).map(lambda b: magic + b))))
def test_arbitrary_content_under_any_name(name, content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        _read(path)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(sidecar=st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=8),
                            lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.sampled_from(["SamplingFrequency", "StartTime",
                                                               "Columns", "cardiac", "Units"]),
                                              inner, max_size=4), max_leaves=10),
       rows=st.lists(st.lists(st.floats(allow_nan=False) | st.just("n/a"), min_size=1, max_size=3),
                     max_size=5))
def test_bids_any_sidecar_any_rows(sidecar, rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sub-01_task-x_physio.tsv.gz"
        path.write_bytes(gzip.compress("".join("\t".join(map(str, r)) + "\n" for r in rows).encode()))
        (Path(tmp) / "sub-01_task-x_physio.json").write_text(json.dumps(sidecar))
        _read(path)
