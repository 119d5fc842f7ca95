"""Batch analysis: 50 recordings on local processes and on a real dask.distributed scheduler
give the same group table; a corrupt file is reported and the rest succeed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from biofeed.analysis.batch import run_batch
from biofeed.cli import main
from biofeed.record.export import to_session_file
from biofeed.record.reader import Recording, Signal, events_frame
from biofeed.stream import StreamInfo

pytestmark = pytest.mark.slow

N_RECORDINGS, SLICE_S, FS = 50, 30.0, 100.0


@pytest.fixture(scope="module")
def recordings(shared_data, tmp_path_factory):
    """50 session files, each 30 s of the real resting recording (ECG + EDA, 100 Hz) from a
    different start, with a rest and a task phase; then one corrupt file in the middle."""
    data = pd.read_csv(shared_data / "neurokit" / "bio_resting_8min_100hz.csv")
    out = tmp_path_factory.mktemp("batch")
    n = int(SLICE_S * FS)
    starts = np.linspace(0, len(data) - n, N_RECORDINGS).astype(int)
    paths = []
    for i, start in enumerate(starts):
        part = data.iloc[start:start + n]
        times = np.arange(n) / FS
        signals = [Signal(part[col].to_numpy(), times, FS, unit, StreamInfo(col.lower(), kind, unit, FS, (col,)))
                   for col, kind, unit in (("ECG", "ecg", "mV"), ("EDA", "eda", "uS"))]
        events = events_frame([(0.0, 15.0, "rest", "phase", {}, 0), (15.0, 15.0, "task", "phase", {}, 1)])
        rec = Recording.from_signals(signals, events, {"participant": f"P{i:02d}"})
        folder = out / f"p{i:02d}"
        paths.append(to_session_file(rec, folder))
    corrupt = out / "corrupt.biofeed"
    corrupt.write_bytes(paths[0].read_bytes()[:3000])
    return paths[:25] + [corrupt] + paths[25:], corrupt


@pytest.fixture(scope="module")
def local_result(recordings):
    paths, _ = recordings
    seen = []
    result = run_batch(paths, workers=2, progress=lambda done, total, path: seen.append((done, total)))
    assert seen[-1] == (len(paths), len(paths)) and len(seen) == len(paths)
    return result


def test_local_batch_reports_the_corrupt_file_and_analyses_the_rest(recordings, local_result):
    paths, corrupt = recordings
    assert list(local_result.failures) == [str(corrupt)]
    assert "corrupt.biofeed" in local_result.failures[str(corrupt)]
    table = local_result.table
    assert len(table) == 2 * N_RECORDINGS
    assert table.file.tolist() == [str(p) for p in paths if p != corrupt for _ in range(2)]
    assert table.phase.tolist() == ["rest", "task"] * N_RECORDINGS
    assert table.hr_bpm.between(40, 100).all() and table.scl_us.notna().all()


def test_dask_cluster_gives_the_same_table(recordings, local_result, tmp_path):
    from distributed import LocalCluster

    paths, corrupt = recordings
    out = tmp_path / "group.csv"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        code = main(["batch", *map(str, paths), "--out", str(out),
                     "--scheduler", cluster.scheduler_address])
    assert code == 1                                   # one file failed: reported in the exit code
    on_dask = pd.read_csv(out)
    local = local_result.table.copy()
    local.to_csv(tmp_path / "local.csv", index=False)
    pd.testing.assert_frame_equal(on_dask, pd.read_csv(tmp_path / "local.csv"))


def test_duplicate_paths_are_refused(recordings):
    paths, _ = recordings
    with pytest.raises(ValueError, match="more than once"):
        run_batch([paths[0], paths[0]])
