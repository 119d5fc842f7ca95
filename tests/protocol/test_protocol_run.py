"""Library protocols run headless on the simulated sensor and recorded to a session file."""
from __future__ import annotations

import asyncio
from itertools import accumulate

import numpy as np
import pytest

import biofeed as bf
from biofeed.analysis.phases import phase_table, reactivity
from biofeed.analysis.resonance import resonance
from biofeed.cli import main
from biofeed.devices.simulated import SimulatedSensor
from biofeed.protocol.assemble import protocol_session
from biofeed.protocol.library import load, resolve
from biofeed.protocol.ratings import AutoRatings
from biofeed.sim.physiology import SimConfig


def _run(protocol, tmp_path, ratings="constant:3", speed=1000.0, seed=0):
    alerts = []
    session = protocol_session(protocol, lambda r: [SimulatedSensor(SimConfig(seed=seed), r.state_at)],
                               auto_ratings=AutoRatings.parse(ratings), alert=alerts.append,
                               out_dir=tmp_path, speed=speed)
    end = asyncio.run(session.run())
    return bf.read(session.path), end, alerts


@pytest.mark.slow
def test_attachment_stress_on_schedule_with_ratings_and_a_stress_response(tmp_path):
    rec, end, alerts = _run(load("attachment-stress"), tmp_path)
    assert end.t_end == 2130.0 and not alerts
    recorded = rec.meta["protocol"]
    again = load("attachment-stress", seed=recorded["seed"])       # the order from its seed
    ev = rec.events
    phases = ev[ev.kind == "phase"]
    assert phases.label.tolist() == [p.label for p in again.phases]
    schedule = [0.0, *accumulate(p.duration_s for p in again.phases)][:-1]
    errors = np.abs(phases.onset.to_numpy() - schedule)
    assert errors.max() <= 0.010, errors                           # within 10 ms of the schedule
    prompts = ev[ev.kind == "prompt"]
    assert sorted(p["prompt_id"] for p in prompts.payload) == [
        "security-comfort", "threat-rejection", "threat-separation", "threat-unavailability"]
    ratings = ev[ev.kind == "rating"]
    assert len(ratings) == 5 and {p["value"] for p in ratings.payload} == {3.0}
    assert (ratings.label.str.startswith("suds.").sum(), "closing-suds" in ratings.label.tolist()) == (4, True)
    table = phase_table(rec).set_index("phase")
    base = table.loc["baseline"]
    for label in ("separation", "unavailability", "rejection"):
        assert table.loc[label].arousal > base.arousal + 0.5, table
        assert table.loc[label].hr_bpm > base.hr_bpm + 5, table
    react = reactivity(table.reset_index()).set_index("phase")
    assert react.loc["separation"].d_scl_us > 0 and react.loc["baseline"].d_arousal == 0
    assert table.loc["recovery"].half_recovery_s >= 0
    assert table.loc["paced-breathing"].coherence > table.loc["baseline"].coherence


@pytest.mark.slow
def test_rating_above_threshold_skips_to_recovery_and_records_why(tmp_path):
    rec, end, alerts = _run(load("attachment-stress", seed=2), tmp_path, ratings="9")
    ev = rec.events
    stop = ev[ev.kind == "stop_rule"]
    assert len(stop) == 1 and len(alerts) == 1
    why = stop.payload.iloc[0]
    assert "SUDS rating 9 at or above the stop threshold 8" in why["reason"] and why["to"] == "recovery"
    labels = ev[ev.kind == "phase"].label.tolist()
    first = labels[2]                                               # the first prompt ran ...
    assert labels[3] == f"suds.{first}" and labels[4:] == ["recovery", "paced-breathing",
                                                           "closing-suds", "debrief"]
    assert len(why["skipped"]) == 10                                # ... everything else was skipped
    recovery = ev[(ev.kind == "phase") & (ev.label == "recovery")].iloc[0]
    assert recovery.onset == stop.onset.iloc[0]
    assert end.ended_by == "end of protocol" and end.t_end >= recovery.onset + 300 + 300 + 30 + 60


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resonance_assessment_on_the_simulated_sensor_picks_its_resonance_rate(tmp_path, seed):
    rec, _, _ = _run(load("resonance-frequency-assessment"), tmp_path, speed=1500.0, seed=seed)
    result = resonance(rec)
    assert SimConfig().resonance_bpm == 5.5
    assert result.table.rate_bpm.tolist() == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert result.rate_bpm == 5.5 and result.extend is None, result.table
    best = result.table.set_index("rate_bpm")
    assert abs(best.loc[5.5].phase_deg) < abs(best.loc[6.5].phase_deg)
    assert best.loc[5.5].lf_ms2 > best.loc[6.5].lf_ms2


def test_cli_protocols_list_show_validate(tmp_path, capsys):
    assert main(["protocols", "list"]) == 0
    assert "attachment-stress" in capsys.readouterr().out
    assert main(["protocols", "show", "resonance-frequency-assessment"]) == 0
    out = capsys.readouterr().out
    assert "pace 5.5/min" in out and "total duration 18:30.0 (1110 s)" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(resolve("resting-baseline").read_text().replace("duration_s = 300", "duration_s = -1"))
    assert main(["protocols", "validate", str(resolve("attachment-stress")), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "attachment-stress.toml: ok" in out
    assert "bad.toml: phases[1].duration_s: -1 is not allowed; must be > 0 seconds" in out


@pytest.mark.slow
def test_cli_run_headless_with_auto_ratings_prints_tables_and_stop(tmp_path, capsys):
    code = main(["run", "stress-recovery", "--headless", "--speed", "1000", "--auto-ratings", "9",
                 "--participant", "P1", "--out", str(tmp_path), "--rr-correction", "strong"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "stop rule at 600.0 s: SUDS rating 9 at or above the stop threshold 8" in out
    assert "Per-phase summary" in out and "Reactivity (phase minus baseline)" in out
    rec = bf.read(next(tmp_path.glob("*.biofeed")))
    assert rec.meta["participant"] == "P1" and rec.meta["protocol"]["name"] == "stress-recovery"
    # the level reaches the processors and the file
    assert rec.meta["rr_correction"] == "strong"
    assert rec.signals["ecg.rr.nn"].info.device == "RRCleaner(level=strong)"


def test_cli_run_rejects_bad_auto_ratings(tmp_path, capsys):
    assert main(["run", "resting-baseline", "--auto-ratings", "often", "--out", str(tmp_path)]) == 2
    assert "allowed: constant:V" in capsys.readouterr().out
