"""Every output (export as bids, edf, csv; analyze's report; import's session file; batch and
synchrony tables) is published atomically, owner-only, never over a file nor through a
symbolic link, and inside its folder (issue 14, item 2).

The kill tests run the real CLI (``biofeed.cli.main``) in processes forked from a helper that
imported biofeed once (importing takes seconds, a loaded machine many), kill them with SIGKILL
at delays spread over a measured complete run, and check after each kill that no file is under
a final name, then that a rerun in the same folder works and gives what a clean run gives. One
test does the same with ``python -m biofeed`` itself, killed once its first temporary exists.
"""
from __future__ import annotations

import json
import re
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import biofeed as bf
from biofeed.cli import main
from biofeed.record.export import export, to_session_file
from biofeed.record.private import (PART, Staging, check_name, private_dir, private_output,
                                    remove_stale_parts)

#: The helper: reads ``run <argv as JSON>`` (forks a child running main(argv), prints its pid)
#: and ``wait <pid>`` (prints its exit code, -9 when killed) lines.
HELPER = r"""
import json, os, sys
from biofeed.cli import main
import biofeed.record.export, biofeed.analysis.report, biofeed.analysis.analyze  # preloaded
print("ready", flush=True)
for line in sys.stdin:
    cmd, arg = line.split(" ", 1)
    if cmd == "run":
        argv = json.loads(arg)
        pid = os.fork()
        if pid == 0:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            try:
                code = main(argv)
            except BaseException:
                code = 3
            os._exit(code)
        print(pid, flush=True)
    else:
        print(os.waitstatus_to_exitcode(os.waitpid(int(arg), 0)[1]), flush=True)
"""

KILLS = 8


class Forker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HELPER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def _ask(self, line: str) -> int:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def start(self, argv: list[str]) -> int:
        return self._ask(f"run {json.dumps(argv)}")

    def wait(self, pid: int) -> int:
        return self._ask(f"wait {pid}")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def forker():
    f = Forker()
    yield f
    f.close()


@pytest.fixture(scope="module")
def session(shared_data, tmp_path_factory) -> Path:
    """The real 8-minute NeuroKit2 resting recording (ECG, RSP, EDA at 100 Hz) as a session file."""
    rec = bf.read(shared_data / "neurokit" / "bio_resting_8min_100hz.csv", rate=100.0)
    return to_session_file(rec, tmp_path_factory.mktemp("session"))


def _entries(folder: Path) -> tuple[list[str], list[str]]:
    """(final names, temporaries) of the files below ``folder`` (folders themselves left out,
    the files inside a temporary folder counted as that temporary)."""
    finals, parts = [], []
    if not folder.exists():
        return finals, parts
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.endswith(PART) for part in rel.parts):
            if rel.parts[-1].endswith(PART):
                parts.append(str(rel))
        elif p.is_file() or p.is_symlink():
            finals.append(str(rel))
    return finals, parts


def _argv(what: str, session: Path, source: Path, out: Path) -> list[str]:
    if what == "analyze":
        return ["analyze", str(session), "--out", str(out)]
    if what == "import":
        return ["import", str(source), "--rate", "100", "--out", str(out)]
    return ["export", str(session), "--format", what, "--out", str(out), "--stem", "s"]


def _same_output(what: str, got: Path, ref: Path, scratch: Path) -> None:
    """``got`` holds what a clean run writes (``ref``)."""
    names, _ = _entries(got)
    ref_names, _ = _entries(ref)
    if what == "import":
        assert len(names) == len(ref_names) == 1, (names, ref_names)
        (a,), (b,) = names, ref_names
        scratch.mkdir(exist_ok=True)       # read copies: SQLite puts -wal/-shm beside what it opens
        x, y = (bf.read(shutil.copy(folder / name, scratch / f"{tag}.biofeed"))
                for folder, name, tag in ((got, a, "got"), (ref, b, "ref")))
        assert x.complete and list(x.streams) == list(y.streams)
        for n in x.streams:
            np.testing.assert_array_equal(x.signals[n].values, y.signals[n].values)
        return
    assert names == ref_names
    for name in names:
        if name.endswith((".gz", ".html")):       # gzip stamps the time; the page names the run
            continue
        assert (got / name).read_bytes() == (ref / name).read_bytes(), name
    if what == "bids":
        x, y = bf.read(got / "s_recording-ECG_physio.tsv.gz"), bf.read(ref / "s_recording-ECG_physio.tsv.gz")
        np.testing.assert_array_equal(x.signals["ECG"].values, y.signals["ECG"].values)


@pytest.mark.slow
@pytest.mark.parametrize("what", ["csv", "bids", "edf", "analyze", "import"])
def test_killed_runs_leave_no_file_under_a_final_name_and_a_rerun_works(
        what, forker, session, shared_data, tmp_path):
    source = shared_data / "neurokit" / "bio_resting_8min_100hz.csv"
    ref = tmp_path / "ref"
    t0 = time.monotonic()
    assert forker.wait(forker.start(_argv(what, session, source, ref))) == 0
    full_s = time.monotonic() - t0
    ref_names, ref_parts = _entries(ref)
    assert ref_names and not ref_parts

    out = tmp_path / "out"
    log = []
    for i in range(KILLS):
        delay = full_s * (i + 0.5) / KILLS
        pid = forker.start(_argv(what, session, source, out))
        t0 = time.monotonic()
        while time.monotonic() - t0 < delay:
            time.sleep(0.002)
        os.kill(pid, signal.SIGKILL)
        code = forker.wait(pid)
        names, parts = _entries(out)
        log.append((round(delay, 2), code, len(parts), bool(names)))
        assert code in (0, -signal.SIGKILL)
        if names:            # finished (or killed after publishing): the whole output, complete
            _same_output(what, out, ref, tmp_path / "scratch")
            for name in names:
                (out / name).unlink()
    print(f"\n{what}: complete run {full_s:.2f} s; kills (delay s, exit code, temporaries "
          f"left, output published): {log}")
    assert forker.wait(forker.start(_argv(what, session, source, out))) == 0   # the rerun
    names, parts = _entries(out)
    assert parts == []                                  # the dead runs' temporaries are gone
    _same_output(what, out, ref, tmp_path / "scratch")
    if what != "analyze":                               # its write is a sliver of the run
        assert any(left for _, code, left, _ in log if code != 0), f"no kill landed mid-write: {log}"
    if what == "bids":                                  # a temporary is no recording
        from biofeed.record.importers.bids import recordings

        left = tmp_path / "left"
        left.mkdir()
        (left / f".s_recording-ECG_physio.tsv.gz.{'0' * 16}{PART}").write_bytes(
            (ref / "s_recording-ECG_physio.tsv.gz").read_bytes())
        assert recordings(left) == []


@pytest.mark.slow
def test_python_m_biofeed_killed_while_writing(session, tmp_path):
    """The real command line, killed once its first temporary exists; the rerun works."""
    out = tmp_path / "csv"
    proc = subprocess.Popen([sys.executable, "-m", "biofeed", "export", str(session), "--format",
                             "csv", "--out", str(out), "--stem", "s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def parts() -> list[str]:
        try:
            return [n for n in os.listdir(out) if n.endswith(PART)]
        except FileNotFoundError:
            return []

    deadline = time.monotonic() + 120
    while not parts() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    names, parts = _entries(out)
    assert names == [] and parts
    assert main(["export", str(session), "--format", "csv", "--out", str(out), "--stem", "s"]) == 0
    names, parts = _entries(out)
    assert names == ["s_ECG.csv", "s_EDA.csv", "s_RSP.csv", "s_events.csv"] and parts == []
    np.testing.assert_array_equal(pd.read_csv(out / "s_ECG.csv").ECG, bf.read(session).signals["ECG"].values)


# -- symbolic links, existing files, names ---------------------------------------------------


@pytest.fixture(scope="module")
def small(session, tmp_path_factory):
    """The session cut to 60 s (fast exports and reports)."""
    from biofeed.record.reader import Recording, Signal

    rec = bf.read(session)
    signals = [Signal(s.values[s.times < 60], s.times[s.times < 60], s.fs, s.info.unit, s.info)
               for s in rec.signals.values()]
    return Recording.from_signals(signals, path="small.biofeed")


@pytest.mark.parametrize("fmt, name", [("csv", "s_ECG.csv"), ("bids", "s_events.tsv"),
                                       ("edf", "s.edf")])
@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_an_export_path_is_refused_and_not_followed(tmp_path, small, fmt, name,
                                                                  dangling):
    target = tmp_path / "target"
    if not dangling:
        target.write_text("kept")
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(target)
    with pytest.raises(FileExistsError, match=f"{name}: exists already"):
        export(small, out, fmt, "s")
    assert [p.name for p in out.iterdir()] == [name]        # nothing else, no temporaries
    assert (out / name).is_symlink()
    assert target.read_text() == "kept" if not dangling else not target.exists()


def test_a_symlink_at_a_report_path_is_refused_and_not_followed(tmp_path, small):
    from biofeed.analysis.analyze import analyze
    from biofeed.analysis.report import write_report

    result = analyze(small)
    target = tmp_path / "elsewhere.html"
    target.write_text("kept")
    out = tmp_path / "reports"
    out.mkdir()
    (out / "small_report.html").symlink_to(target)
    with pytest.raises(FileExistsError, match="small_report.html: exists already"):
        write_report(result, out)
    assert [p.name for p in out.iterdir()] == ["small_report.html"]   # no table without report
    assert target.read_text() == "kept"
    (out / "small_report.html").unlink()
    files = write_report(result, out)
    with pytest.raises(FileExistsError, match="small_phases.csv: exists already"):
        write_report(result, out)                                     # never overwritten
    assert sorted(p.name for p in out.iterdir()) == ["small_phases.csv", "small_report.html",
                                                     "small_report.pdf"]
    assert files.html.read_text().startswith("<!DOCTYPE html>")


def test_a_symlinked_derivatives_folder_is_refused(tmp_path, demo_session):
    """The BIDS derivative folder biofeed names may not lead elsewhere."""
    rec = bf.read(demo_session)                          # has derived streams
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "bids"
    out.mkdir()
    (out / "derivatives").symlink_to(elsewhere)
    with pytest.raises(FileExistsError, match="derivatives: is a symbolic link"):
        export(rec, out, "bids", "s")
    assert list(elsewhere.iterdir()) == [] and [p.name for p in out.iterdir()] == ["derivatives"]


@pytest.mark.parametrize("stem, problem", [("../x", "contains a path separator"),
                                           ("..", "contains '..'"),
                                           ("a..b", "contains '..'"),
                                           ("/tmp/x", "is absolute"),
                                           ("sub/x", "contains a path separator"),
                                           ("", "is empty")])
def test_a_stem_leaving_the_folder_is_refused(tmp_path, small, stem, problem):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=re.escape(f"stem {stem!r} {problem}: every file must "
                                                   f"stay inside the output folder '{out}'")):
        export(small, out, "csv", stem)
    assert list(tmp_path.rglob("*")) == []


def test_cli_stem_escaping_the_folder_writes_nothing(tmp_path, session, capsys):
    out = tmp_path / "out"
    assert main(["export", str(session), "--format", "csv", "--out", str(out), "--stem",
                 "../escaped"]) == 2
    text = " ".join(capsys.readouterr().out.split())
    assert "stem '../escaped' contains a path separator" in text and str(out) in text
    assert list(tmp_path.iterdir()) == []


def test_check_name_keeps_plain_names(tmp_path):
    assert check_name("sub-01_task-rest", tmp_path) == "sub-01_task-rest"
    assert check_name(".hidden", tmp_path) == ".hidden"


# -- modes, never overwrite -----------------------------------------------------------------


def test_reports_batch_tables_and_folders_are_private_whatever_the_umask(tmp_path, small, session):
    from biofeed.analysis.analyze import analyze
    from biofeed.analysis.batch import write_table
    from biofeed.analysis.report import write_report

    old = os.umask(0)
    try:
        files = write_report(analyze(small), tmp_path / "a" / "b" / "reports")
        table = write_table(pd.DataFrame({"x": [1.0]}), tmp_path / "t" / "u" / "batch.csv")
        with private_output(tmp_path / "sync.csv", "remove it") as f:
            f.write("r\n")
        imported = to_session_file(small, tmp_path / "sessions" / "new")
    finally:
        os.umask(old)
    for p in (files.table, files.html, files.pdf, table, tmp_path / "sync.csv", imported):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    for d in ("a", "a/b", "a/b/reports", "t", "t/u", "sessions", "sessions/new"):
        assert stat.S_IMODE((tmp_path / d).stat().st_mode) == 0o700, d
    assert sorted(p.name for p in imported.parent.iterdir()) == [imported.name]  # no -wal, no temp


def test_bids_derivatives_folders_are_private(tmp_path, demo_session):
    rec = bf.read(demo_session)
    old = os.umask(0)
    try:
        written = export(rec, tmp_path / "bids", "bids", "s").files
    finally:
        os.umask(old)
    for d in ("bids", "bids/derivatives", "bids/derivatives/biofeed"):
        assert stat.S_IMODE((tmp_path / d).stat().st_mode) == 0o700, d
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {0o600}
    assert any("derivatives" in str(p) for p in written)
    # a second export of another stem reuses the derivative dataset's description
    again = export(rec, tmp_path / "bids", "bids", "t").files
    assert not any(p.name == "dataset_description.json" for p in again)


def test_batch_never_overwrites_its_table(tmp_path, session, capsys):
    out = tmp_path / "batch.csv"
    out.write_text("kept")
    assert main(["batch", str(session), "--out", str(out), "--workers", "1"]) == 2
    assert "batch.csv: exists already" in " ".join(capsys.readouterr().out.split())
    assert out.read_text() == "kept"


def test_analyze_refuses_to_overwrite_its_report(tmp_path, small, capsys):
    from biofeed.analysis.analyze import analyze
    from biofeed.analysis.report import write_report

    write_report(analyze(small), tmp_path, pdf=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(FileExistsError, match="an earlier report"):
        write_report(analyze(small), tmp_path, pdf=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# -- the publisher ---------------------------------------------------------------------------


def test_a_failed_output_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with Staging("remove it") as stage:
            with stage.open(tmp_path / "a.csv") as f:
                f.write("a\n")
            stage.open(tmp_path / "b.csv").write("b")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "c.csv").write_text("kept")
    with pytest.raises(FileExistsError, match="c.csv: exists already; remove it"):
        with Staging("remove it") as stage:
            stage.open(tmp_path / "a.csv").write("a")      # left open: published closes it
            stage.open(tmp_path / "c.csv", if_missing=True).write("c")
            stage._parts[-1].if_missing = False             # as if c.csv appeared meanwhile
    assert [p.name for p in tmp_path.iterdir()] == ["c.csv"]   # a.csv, published first, removed
    assert (tmp_path / "c.csv").read_text() == "kept"


def test_only_dead_writers_temporaries_are_removed(tmp_path):
    final = tmp_path / "x.csv"
    stale = tmp_path / f".x.csv.{'a' * 16}{PART}"
    stale.write_text("half a row")
    other = tmp_path / f".y.csv.{'a' * 16}{PART}"          # another name's: not touched
    other.write_text("y")
    with Staging("remove it") as live:
        live.open(final).write("1\n")                      # its staging removed the stale one
        assert not stale.exists() and other.exists()
        stale.write_text("half a row")                       # another dead writer's
        (temp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".x.csv.") and p != stale]
        assert remove_stale_parts(final) == [stale]         # the live (locked) one stays
        assert temp.exists() and not stale.exists()
    assert final.read_text() == "1\n" and not temp.exists() and other.exists()


def test_private_dir_refuses_a_file_or_symlink_on_the_way(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(FileExistsError, match="is not a folder"):
        private_dir(tmp_path / "f", inside=tmp_path)
    assert private_dir(tmp_path / "x" / "y", inside=tmp_path).is_dir()


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_a_table_path_is_refused_and_not_followed(tmp_path, dangling):
    """The batch table and synchrony's --csv (both one file through private_output)."""
    from biofeed.analysis.batch import write_table

    target = tmp_path / "target.csv"
    if not dangling:
        target.write_text("kept")
    (tmp_path / "batch.csv").symlink_to(target)
    with pytest.raises(FileExistsError, match="batch.csv: exists already"):
        write_table(pd.DataFrame({"x": [1.0]}), tmp_path / "batch.csv")
    with pytest.raises(FileExistsError, match="batch.csv: exists already; remove it"):
        with private_output(tmp_path / "batch.csv", "remove it") as f:
            f.write("r\n")
    assert target.read_text() == "kept" if not dangling else not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.csv"] + ([] if dangling else ["target.csv"])
