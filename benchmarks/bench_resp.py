"""Validation of breathing without a belt (issue 18): the table of docs/validation-resp.md.

1. NeuroKit2 example recordings with ECG and a respiration belt (``../shared/data/neurokit``):
   breathing rate per 60 s window (a new window every 10 s) from the ECG alone
   (:func:`biofeed.edr`, Karlen smart fusion) against the belt's rate in the same window
   (:func:`biofeed.physio.resp_derived.window_rate` of the belt), mean absolute error and the
   share of windows with an estimate; beside it neurokit2's ``ecg_rsp`` (its EDR from the heart
   rate) with ``rsp_rate`` averaged over the window, and neurokit2's ``rsp_rate`` of the belt.
   Breath onsets (:class:`biofeed.physio.breath.BreathDetector` on the belt and on the EDR)
   matched by the rule below; neurokit2's EDR troughs (``rsp_peaks``) matched the same way.
2. The simulated sensor at 6-20 breaths/min (seeds 1-2, 400 s each, posture changes and
   movement artifacts on): the same for its chest accelerometer, finger PPG and ECG.
3. Paced breathing (the resonance-frequency assessment, 6.5-4.5 breaths/min) on the simulated
   sensor with the belt, without it (the accelerometer is used), and with neither belt nor
   accelerometer (EDR is used): RSA per paced rate, the six resonance criteria, the chosen
   rate, pacer adherence (mean resultant length), each against the belt-based values.

Matching rule for breath onsets: a belt onset is matched when the nearest derived onset lies
within +-25 % of that belt breath's length (+-90 degrees of breath phase) and has not matched
an earlier belt onset; the share of matched belt breaths is printed (and, for comparison, the
same with +-40 %).

Run: ``python benchmarks/bench_resp.py``
"""
from __future__ import annotations

import asyncio
import datetime
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import biofeed as bf
from biofeed.analysis.replay import replay
from biofeed.analysis.resonance import resonance
from biofeed.devices.simulated import SimulatedSensor
from biofeed.physio.acc_resp import acc_resp
from biofeed.physio.breath import breath_onsets
from biofeed.physio.edr import edr
from biofeed.physio.pdr import pdr
from biofeed.physio.resp_derived import window_rate
from biofeed.protocol.library import load
from biofeed.protocol.runner import ProtocolRunner
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "neurokit"
NK_FILES = ("bio_resting_8min_100hz.csv", "bio_eventrelated_100hz.csv")
RATES = (6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0)


def match_share(ref: np.ndarray, test: np.ndarray, frac: float = 0.25) -> float:
    """Share of reference breaths (onset to next onset) matched by the rule in the module
    notes."""
    used: set[int] = set()
    hits = 0
    for i in range(len(ref) - 1):
        if not len(test):
            break
        j = int(np.argmin(np.abs(test - ref[i])))
        if abs(test[j] - ref[i]) <= frac * (ref[i + 1] - ref[i]) and j not in used:
            used.add(j)
            hits += 1
    return hits / max(len(ref) - 1, 1)


def belt_rates(belt: np.ndarray, fs: float, ends: np.ndarray) -> np.ndarray:
    return np.array([window_rate(belt[max(round((e - 60) * fs), 0):round(e * fs)], fs)[0]
                     for e in ends])


def nk_window_rate(rate: np.ndarray, fs: float, ends: np.ndarray) -> np.ndarray:
    return np.array([np.nanmean(rate[max(round((e - 60) * fs), 0):round(e * fs)])
                     for e in ends])


def neurokit_part() -> list[dict]:
    import neurokit2 as nk

    rows = []
    for name in NK_FILES:
        path = DATA / name
        if not path.exists():
            print(f"  {name}: not found ({DATA}), skipped")
            continue
        d = pd.read_csv(path)
        fs = 100.0
        ecg, belt = d.ECG.to_numpy(float), d.RSP.to_numpy(float)
        resp, fr, table = edr(ecg, fs, rates=True)
        ends = table.t_end_s.to_numpy()
        ref = belt_rates(belt, fs, ends)
        err = np.abs(table.rate_per_min.to_numpy() - ref)
        onsets_belt = breath_onsets(belt, fs)
        onsets_edr = breath_onsets(np.nan_to_num(resp), fr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peaks = nk.ecg_peaks(ecg, sampling_rate=100)[1]["ECG_R_Peaks"]
            hr = nk.ecg_rate(peaks, sampling_rate=100, desired_length=len(ecg))
            nk_edr = nk.ecg_rsp(hr, sampling_rate=100)
            nk_rate = nk.rsp_rate(nk_edr, sampling_rate=100)
            nk_belt_rate = nk.rsp_rate(nk.rsp_clean(belt, sampling_rate=100), sampling_rate=100)
            nk_troughs = np.flatnonzero(
                nk.rsp_peaks(nk_edr, sampling_rate=100)[0]["RSP_Troughs"].to_numpy()) / fs
        nk_err = np.abs(nk_window_rate(nk_rate, fs, ends) - ref)
        rows.append({
            "recording": name.removesuffix(".csv"), "windows": len(ends),
            "belt_rate_per_min": float(np.nanmean(ref)),
            "nk_belt_rate_per_min": float(np.nanmean(nk_window_rate(nk_belt_rate, fs, ends))),
            "edr_mae": float(np.nanmean(err)), "edr_coverage": float(np.isfinite(err).mean()),
            "nk_edr_mae": float(np.nanmean(nk_err)),
            "edr_onsets_25": match_share(onsets_belt, onsets_edr),
            "edr_onsets_40": match_share(onsets_belt, onsets_edr, 0.4),
            "nk_edr_troughs_25": match_share(onsets_belt, nk_troughs),
            "belt_breaths": len(onsets_belt) - 1,
        })
    return rows


def simulated_part(seconds: float = 400.0) -> pd.DataFrame:
    rows = []
    for seed in (1, 2):
        for bpm in RATES:
            s = SimulatedSensor(SimConfig(seed=seed, breath_bpm=bpm), ppg_rate_hz=64.0)
            raw: dict[str, list] = {}
            for t in np.arange(10.0, seconds + 1e-9, 10.0):
                for c in s.read_until(float(t)):
                    raw.setdefault(c.info.name, []).append(c.values)
            x = {k: np.concatenate(v) for k, v in raw.items()}
            belt = x["resp"][:, 0]
            onsets_belt = breath_onsets(belt, 32.0)
            for source, (resp, fr, table) in (
                    ("acc", acc_resp(x["acc"], 50.0, rates=True)),
                    ("ppg", pdr(x["ppg"][:, 0], 64.0, rates=True)),
                    ("ecg", edr(x["ecg"][:, 0], 250.0, rates=True))):
                ref = belt_rates(belt, 32.0, table.t_end_s.to_numpy())
                err = np.abs(table.rate_per_min.to_numpy() - ref)
                onsets = breath_onsets(np.nan_to_num(resp), fr)
                rows.append({"seed": seed, "rate": bpm, "source": source,
                             "mae": float(np.nanmean(err)),
                             "coverage": float(np.isfinite(err).mean()),
                             "onsets_25": match_share(onsets_belt, onsets),
                             "onsets_40": match_share(onsets_belt, onsets, 0.4)})
    return pd.DataFrame(rows)


def _session(out: Path, seed: int, **sensor) -> bf.Recording:
    runner = ProtocolRunner(load("resonance-frequency-assessment", seed=seed))
    session = Session([SimulatedSensor(SimConfig(seed=seed), runner.state_at, **sensor)],
                      runner, out_dir=out, speed=1500.0)
    asyncio.run(session.run())
    return bf.read(session.path)


def paced_part(seeds=(0, 1)) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for source, kw in (("belt", {}), ("acc", {"belt": False}),
                               ("ecg", {"belt": False, "acc_rate_hz": 0.0})):
                rec = _session(Path(tmp) / f"{source}{seed}", seed, **kw)
                res = resonance(rec)
                # replayed with the final events first, as a report reads it
                derived = replay(rec)
                rsa = next(s for s in derived.values() if s.info.kind == "rsa")
                pacing = next((s for s in derived.values() if s.info.kind == "pacing"), None)
                paced = rec.events[(rec.events.kind == "phase")
                                   & rec.events.label.str.startswith("pace")]
                for ev, crit in zip(paced.itertuples(), res.table.itertuples()):
                    lo, hi = ev.onset + 10.0, ev.onset + ev.duration
                    inside = (rsa.times >= lo) & (rsa.times < hi)
                    row = {"seed": seed, "source": source, "rate": crit.rate_bpm,
                           "rsa_bpm": float(np.nanmean(rsa.values[inside, 0])),
                           "peak_trough_bpm": crit.peak_trough_bpm, "lf_ms2": crit.lf_ms2,
                           "phase_deg": crit.phase_deg, "chosen": res.rate_bpm,
                           "breathing": res.table.attrs.get("breathing_source")}
                    if pacing is not None:
                        p_in = (pacing.times >= lo) & (pacing.times < hi)
                        row["mrl"] = float(pacing.values[p_in, 1][-1]) if p_in.any() else np.nan
                        row["breath_rate"] = float(np.nanmean(pacing.values[p_in, 2]))
                    rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    pd.set_option("display.width", 160)
    print(f"bench_resp: biofeed {bf.__version__}, {datetime.date.today().isoformat()}")
    print("\n1. NeuroKit recordings, ECG alone vs the belt (60 s windows, 10 s apart)")
    nk_rows = pd.DataFrame(neurokit_part())
    if len(nk_rows):
        print(nk_rows.round(2).to_string(index=False))
    print("\n2. Simulated sensor at 6-20 breaths/min (seeds 1-2): MAE breaths/min, onsets matched")
    sim = simulated_part()
    summary = sim.groupby(["source", "rate"])[["mae", "coverage", "onsets_25", "onsets_40"]].mean()
    print(summary.unstack("source").round(2).to_string())
    print("   overall:", sim.groupby("source")[["mae", "coverage", "onsets_25", "onsets_40"]]
          .mean().round(2).to_dict("index"))
    print("\n3. Paced breathing without a belt (resonance assessment, simulated)")
    paced = paced_part()
    print(paced.round(2).to_string(index=False))
    belt = paced[paced.source == "belt"].set_index(["seed", "rate"])
    for source in ("acc", "ecg"):
        other = paced[paced.source == source].set_index(["seed", "rate"])
        for col in ("rsa_bpm", "peak_trough_bpm", "lf_ms2"):
            rel = (other[col] - belt[col]) / belt[col]
            print(f"   {source} vs belt {col}: max |relative difference| "
                  f"{np.nanmax(np.abs(rel)):.1%}")
        print(f"   {source} vs belt phase_deg: max |difference| "
              f"{np.nanmax(np.abs(other.phase_deg - belt.phase_deg)):.0f} deg; chosen rate "
              f"{sorted(set(other.chosen))} vs belt {sorted(set(belt.chosen))}")


if __name__ == "__main__":
    main()
