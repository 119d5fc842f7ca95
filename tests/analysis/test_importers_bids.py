"""BIDS physio beyond one file and its sidecar: the inheritance principle, the reserved column
names, and whole dataset folders (specs.md section 5; BIDS 1.10)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import biofeed as bf
from biofeed.analysis.batch import run_batch
from biofeed.record.importers.bids import column_kind, recordings
from biofeed.record.importers.common import FormatError
from format_writers import write_bids_physio

FS = 100.0


@pytest.fixture(scope="module")
def real(neurokit_event):
    """60 s of real ECG (mV), EDA (uS) and RSP at 100 Hz from the NeuroKit2 example."""
    part = neurokit_event.iloc[:6000]
    return part.ECG.to_numpy(), part.EDA.to_numpy(), part.RSP.to_numpy()


def _physio_without_sidecar(folder, stem, columns):
    """A physio file whose metadata must come from sidecars elsewhere (inheritance)."""
    path = write_bids_physio(folder, stem, 1.0, 0.0, columns, {})
    (folder / f"{stem}_physio.json").unlink()
    return path


def _json(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


@pytest.fixture()
def dataset(tmp_path, real):
    """A dataset whose physio metadata are inherited: rate and columns at the root, the start
    time per subject, one run overriding the rate; a sidecar of another task beside them."""
    ecg, _, rsp = real
    root = tmp_path / "ds"
    _json(root / "dataset_description.json", {"Name": "inheritance", "BIDSVersion": "1.10.0"})
    _json(root / "task-rest_physio.json", {
        "SamplingFrequency": FS, "StartTime": 0.0, "Columns": ["cardiac", "respiratory"],
        "cardiac": {"Description": "ECG, lead II", "Units": "mV"}})
    _json(root / "task-other_physio.json", {"SamplingFrequency": 1.0, "StartTime": 0,
                                             "Columns": ["x"]})
    _json(root / "sub-01" / "sub-01_task-rest_physio.json", {"StartTime": -1.5})
    func = root / "sub-01" / "func"
    run1 = _physio_without_sidecar(func, "sub-01_task-rest_run-01", {"cardiac": ecg, "respiratory": rsp})
    run2 = _physio_without_sidecar(func, "sub-01_task-rest_run-02",
                                   {"cardiac": ecg[::2], "respiratory": rsp[::2]})
    _json(func / "sub-01_task-rest_run-02_physio.json", {"SamplingFrequency": FS / 2})
    return root, run1, run2


def test_sidecars_are_inherited_top_down_nearest_wins(dataset, real):
    ecg, _, rsp = real
    root, run1, run2 = dataset
    rec = bf.read(run1)
    assert {n: (s.kind, s.unit, s.rate) for n, s in rec.streams.items()} == {
        "physio_ecg": ("ecg", "mV", FS), "physio_resp": ("resp", "a.u.", FS)}
    np.testing.assert_array_equal(rec.signals["physio_ecg"].values, ecg)
    np.testing.assert_array_equal(rec.signals["physio_resp"].values, rsp)
    # StartTime -1.5 s from sub-01/: session time starts at the first sample
    assert rec.signals["physio_ecg"].times[0] == 0.0
    assert rec.meta["sidecars"] == ["task-rest_physio.json", "sub-01/sub-01_task-rest_physio.json"]
    # run 2: its own sidecar overrides the rate only; the rest still comes from above
    rec2 = bf.read(run2)
    assert rec2.streams["physio_ecg"].rate == FS / 2
    assert rec2.meta["sidecars"][-1] == "sub-01/func/sub-01_task-rest_run-02_physio.json"
    np.testing.assert_array_equal(rec2.signals["physio_ecg"].values, ecg[::2])


def test_two_applicable_sidecars_in_one_folder_are_refused(dataset):
    root, run1, _ = dataset
    _json(root / "sub-01" / "sub-01_run-01_physio.json", {"StartTime": 0})
    with pytest.raises(FormatError, match=r"2 sidecars apply at .*sub-01 .*one a folder"):
        bf.read(run1)


def test_no_applicable_sidecar_names_the_missing_one(tmp_path, real):
    path = _physio_without_sidecar(tmp_path / "sub-02" / "func", "sub-02_task-rest", {"cardiac": real[0]})
    _json(tmp_path / "task-other_physio.json", {"SamplingFrequency": FS, "StartTime": 0,
                                                 "Columns": ["cardiac"]})
    with pytest.raises(FormatError, match=r"sidecar sub-02_task-rest_physio.json is missing, and "
                                          r"no \*_physio.json above it applies"):
        bf.read(path)


@pytest.mark.parametrize("column, meta, kind", [
    ("cardiac", None, "ppg"),                                   # BIDS: a pulse trace
    ("cardiac", {"Description": "pulse oximeter"}, "ppg"),
    ("cardiac", {"Description": "Electrocardiogram, lead I"}, "ecg"),
    ("cardiac", {"Units": "uV"}, "ecg"),
    ("respiratory", {"Units": "cm"}, "resp"),
    ("trigger", None, "generic"),
    ("GSR", {"Units": "uS"}, "eda"),
    ("ch3", {"Description": "skin conductance"}, "eda"),
    ("ch4", {"Description": "scanner volume trigger"}, "generic"),
])
def test_column_kinds_follow_the_reserved_names(column, meta, kind):
    assert column_kind(column, meta) == kind


def test_dataset_folder_one_recording_or_a_clear_list(tmp_path, dataset, real):
    root, run1, run2 = dataset
    assert recordings(root) == [run1, run2]
    with pytest.raises(FormatError, match=r"a BIDS dataset of 2 recordings .*run-01.*run-02.*"
                                          r"'biofeed batch'"):
        bf.read(root)
    single = tmp_path / "single"
    path = write_bids_physio(single / "sub-01" / "beh", "sub-01_task-x", FS, 0.0,
                             {"cardiac": real[0]}, {})
    rec = bf.read(single)
    assert rec.meta["imported_from"] == str(path) and rec.streams["physio"].kind == "ppg"
    empty = tmp_path / "empty"
    _json(empty / "dataset_description.json", {"Name": "x", "BIDSVersion": "1.10.0"})
    with pytest.raises(FormatError, match="no \\*_physio.tsv.gz file in this BIDS folder"):
        bf.read(empty)


def test_batch_takes_a_dataset_folder(dataset):
    root, run1, run2 = dataset
    result = run_batch([root], workers=1)
    assert not result.failures
    assert sorted(set(result.table.file)) == [str(run1), str(run2)]
