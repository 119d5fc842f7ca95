"""``biofeed progress``: three short simulated sessions of P01 and one of P02 in one folder
(file names say nothing of who); the trend report names P01's three and leaves P02's out."""
from __future__ import annotations

import base64
import re
import shutil
import stat
import subprocess

import numpy as np
import pandas as pd
import pytest

import biofeed as bf
from analysis_data import record_course
from biofeed.cli import main

#: (participant, seed, SUDS given after the stressor), in the order recorded.
COURSE = (("P01", 21, 7.0), ("P02", 22, 9.0), ("P01", 23, 5.0), ("P01", 24, 3.0))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sessions")
    paths = [record_course(folder / ("a" if i % 2 else "b"), who, seed, suds)
             for i, (who, seed, suds) in enumerate(COURSE)]
    return folder, paths


@pytest.fixture(scope="module")
def written(course, tmp_path_factory):
    folder, _ = course
    out = tmp_path_factory.mktemp("reports")
    assert main(["progress", "P01", "--sessions", str(folder), "--out", str(out)]) == 0
    return out


def test_progress_finds_the_participants_sessions_by_their_metadata(course, written, capsys):
    _, paths = course
    p01 = [p for p, (who, *_) in zip(paths, COURSE) if who == "P01"]
    table = pd.read_csv(written / "P01_progress.csv")
    assert table.file.tolist() == [p.name for p in p01]               # oldest first, P02 left out
    assert table.session.tolist() == [1, 2, 3]
    assert table.peak_suds.tolist() == [7.0, 5.0, 3.0]
    assert (table.protocol == "short-course").all()
    assert table.baseline_hr_bpm.between(50, 90).all() and (table.baseline_rmssd_ms > 5).all()
    assert (table.paced_rmssd_ms > table.baseline_rmssd_ms).all()      # 6/min paced breathing
    assert (table.paced_coherence > 0).all()
    assert (table.reactivity_hr_bpm > 3).all() and (table.reactivity_scl_us > 0).all()
    assert table.resonance_rate_bpm.isna().all()                       # not assessed
    for name in ("P01_progress.csv", "P01_progress.html", "P01_progress.pdf"):
        assert stat.S_IMODE((written / name).stat().st_mode) == 0o600, name
    page = (written / "P01_progress.html").read_text()
    for p in p01:
        assert p.name in page
    p02 = next(p for p, (who, *_) in zip(paths, COURSE) if who == "P02")
    assert p02.name not in page and "P02" not in page
    assert "the resonance frequency was not assessed in this session." in page
    headers = set(re.findall(r"<th>([^<]*)</th>", page))
    assert {"Baseline HR (bpm)", "Paced coherence", "Peak SUDS", "Half-recovery (s)"} <= headers
    assert not [h for h in headers if re.search(r"[a-z0-9]_[a-z]", h)], headers
    figures = re.findall(r'<img alt="([^"]+)" src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert [t for t, _ in figures] == ["Heart rate variability", "Stress response"]
    hrv = base64.b64decode(figures[0][1]).decode()
    assert "baseline RMSSD (ms)" in hrv and "not measured" in hrv     # resonance never assessed
    assert (written / "P01_progress.pdf").read_bytes().startswith(b"%PDF-")


def test_a_course_session_report_shows_its_rating_and_the_pacer(course):
    from biofeed.analysis.analyze import analyze
    from biofeed.analysis.figures import FIGURES, figure, svg

    _, paths = course
    result = analyze(bf.read(paths[0]))
    drawn = {spec.title: svg(fig) for spec in FIGURES if (fig := figure(spec, result)) is not None}
    assert "SUDS (0-10)" in drawn["Ratings over time"] and ">7<" in drawn["Ratings over time"]
    assert "pacer rate" in drawn["Breathing rate and pacer"]
    assert len(drawn) == len(FIGURES)                                  # every figure has its data


def test_progress_never_overwrites_and_says_when_there_is_no_session(course, written, capsys):
    folder, _ = course
    before = (written / "P01_progress.csv").read_bytes()
    assert main(["progress", "P01", "--sessions", str(folder), "--out", str(written)]) == 2
    assert "P01_progress.csv: exists already" in " ".join(capsys.readouterr().out.split())
    assert (written / "P01_progress.csv").read_bytes() == before
    assert main(["progress", "P03", "--sessions", str(folder), "--out", str(written)]) == 2
    assert "no session file of participant 'P03'" in " ".join(capsys.readouterr().out.split())


PDFTOPPM = shutil.which("pdftoppm")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(PDFTOPPM is None or CHROMIUM is None,
                    reason="poppler-utils and chromium are not installed (.ci/run installs them)")
def test_progress_report_renders(written, tmp_path):
    from matplotlib.image import imread

    subprocess.run([PDFTOPPM, "-r", "40", "-png", str(written / "P01_progress.pdf"),
                    str(tmp_path / "page")], check=True, capture_output=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    trend = imread(pages[1])[..., :3]                                   # the trend page
    blue = np.abs(trend - np.array([31, 119, 180]) / 255.0).max(axis=2) < 0.08
    assert blue.sum() > 200                                           # the trend lines drawn
    shot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
                    f"--screenshot={shot}", (written / "P01_progress.html").as_uri()],
                   check=True, capture_output=True, timeout=90)
    image = imread(shot)[..., :3]
    blue = np.abs(image - np.array([31, 119, 180]) / 255.0).max(axis=2) < 0.08
    assert blue.sum() > 500
