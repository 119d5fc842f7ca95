"""Beat detection accuracy on real records, side by side with neurokit2 in the same run.

1. ECG: every record and lead in ``../shared/data/mitdb``, as recorded and inverted, through
   :func:`biofeed.physio.ecg.ecg_peaks` and through neurokit2 (``ecg_peaks(ecg_clean(x))``).
   Both are scored against the expert beats (``.atr`` beat symbols, or every ``.qrs``
   position) at +-75 ms after removing each detector's median fiducial offset over the first
   500 beats (:func:`biofeed.physio.scoring.score_beats`). One row per record, lead and
   polarity, then the pooled figures of the first leads.
2. PPG: the share of reference beat-to-beat intervals holding exactly one detected pulse, on
   the cases of ``_ppg_cases.py`` (simulated PPG at 40-200 bpm, PPG on the real beats of the
   NeuroKit2 recordings, low perfusion, motion), biofeed and neurokit2.

``--markdown FILE`` writes the tables as a validation page (with the date and the versions).

Run: ``python benchmarks/bench_beats.py [--data ../shared/data] [--no-neurokit]
[--markdown docs/validation-beats.md]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _data import DATA, write_validation_page
from _ppg_cases import PPG_HEADER, ppg_row, ppg_table

from biofeed.physio.ecg import ecg_peaks
from biofeed.physio.scoring import BEAT_SYMBOLS, BeatScore, score_beats

def mitdb_records(data: Path) -> list[str]:
    """Names of the records in ``data/mitdb``."""
    return sorted(p.stem for p in (data / "mitdb").glob("*.hea"))


def reference_beats(data: Path, name: str) -> np.ndarray:
    """Sample indices of the expert beats of a record (``.atr`` beats, else every ``.qrs``)."""
    import wfdb

    base = data / "mitdb" / name
    ext = "atr" if base.with_suffix(".atr").exists() else "qrs"
    ann = wfdb.rdann(str(base), ext)
    keep = [s in BEAT_SYMBOLS for s in ann.symbol]
    return np.asarray(ann.sample)[keep]


def neurokit_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """R-peaks by ``nk.ecg_peaks(nk.ecg_clean(x))``."""
    import neurokit2 as nk

    _, info = nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=int(fs)), sampling_rate=int(fs))
    return np.asarray(info["ECG_R_Peaks"])


def ecg_table(data: Path, with_nk: bool) -> tuple[list[tuple], BeatScore, BeatScore]:
    """Rows (record, lead, polarity, beats, biofeed score, neurokit2 score or None) and the
    pooled scores of the first leads."""
    import wfdb

    rows = []
    pooled_bf = pooled_nk = BeatScore(0, 0, 0, 0.0)
    for name in mitdb_records(data):
        rec = wfdb.rdrecord(str(data / "mitdb" / name))
        ref = reference_beats(data, name)
        for lead, label in enumerate(rec.sig_name):
            for sign, pol in ((1, "as rec."), (-1, "inverted")):
                x = sign * rec.p_signal[:, lead]
                bf = score_beats(ecg_peaks(x, rec.fs), ref, rec.fs)
                nk = score_beats(neurokit_peaks(x, rec.fs), ref, rec.fs) if with_nk else None
                rows.append((name, label, pol, len(ref), bf, nk))
                if lead == 0:
                    pooled_bf = pooled_bf + bf
                    pooled_nk = pooled_nk + nk if nk else pooled_nk
                print(f"  {_ecg_row(rows[-1])}", file=sys.stderr, flush=True)
    return rows, pooled_bf, pooled_nk


def _pct(v: float) -> str:
    return f"{100 * v:6.2f}" if np.isfinite(v) else "     -"


def _ecg_row(row) -> str:
    name, label, pol, n, bf, nk = row
    nks = f"{_pct(nk.se)} {_pct(nk.ppv)}" if nk else "     -      -"
    return (f"{name:<6} {label:<5} {pol:<8} {n:>5} {_pct(bf.se)} {_pct(bf.ppv)} "
            f"{bf.fn:>4} {bf.fp:>4}  {nks}")


ECG_HEADER = ("record lead  polarity beats  Se %  +P %   FN   FP  nk Se  nk +P\n"
              "------ ----- -------- ----- ------ ------ ---- ----  ------ ------")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--no-neurokit", action="store_true", help="score biofeed only")
    ap.add_argument("--markdown", type=Path, help="write the tables to this page")
    args = ap.parse_args()
    with_nk = not args.no_neurokit
    t = time.perf_counter()
    rows, pooled_bf, pooled_nk = ecg_table(args.data, with_nk)
    ppg = ppg_table(args.data, with_nk)
    elapsed = time.perf_counter() - t

    pooled = ["Pooled, first leads, both polarities   Se %   +P %     FN     FP",
              _pooled_row("biofeed", pooled_bf)]
    if with_nk:
        pooled.append(_pooled_row("neurokit2", pooled_nk))
    text = "\n".join([ECG_HEADER, *map(_ecg_row, rows), "", *pooled, "", PPG_HEADER,
                      *map(ppg_row, ppg)])
    print(text)
    print(f"({elapsed:.0f} s)")
    if args.markdown:
        write_page(args.markdown, text)


def _pooled_row(who: str, s: BeatScore) -> str:
    return f"  {who:<35} {_pct(s.se)} {_pct(s.ppv)} {s.fn:>6} {s.fp:>6}"


def write_page(path: Path, text: str) -> None:
    """The validation page: how it was made, what the columns mean, the tables."""
    how = """ECG: every record and lead of `../shared/data/mitdb` (MIT-BIH Arrhythmia Database, 360 Hz),
as recorded and inverted. Se = TP / (TP + FN) and +P = TP / (TP + FP) in %, a detection
matching an expert beat within +-75 ms after each detector's median fiducial offset over the
first 500 beats is removed; FN and FP are biofeed's. `nk`: neurokit2 `ecg_peaks(ecg_clean(x))`
on the same signal in the same run.

PPG: the share of the reference beat-to-beat intervals that hold exactly one detected pulse
(`one %`), biofeed and neurokit2 (`ppg_peaks(ppg_clean(x))`); the cases are described in
`benchmarks/_ppg_cases.py`."""
    write_validation_page(path, "Beat detection: validation", "bench_beats.py", how, text)


if __name__ == "__main__":
    main()
