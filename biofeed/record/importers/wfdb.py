"""WFDB records (PhysioNet): ``<record>.hea`` header + signal files, annotations in ``.atr``.

Read with the ``wfdb`` package (physical units from the header's gain and baseline), each
signal at its own rate: a signal with ``k`` samples per frame is sampled at ``k`` times the
frame rate (read with ``smooth_frames=False``; averaging the frames would turn a 250 Hz ECG
into 62.5 Hz). Multi-segment records are read whole. Each signal whose name suggests a kind
becomes a stream (ECG leads by their names: I-III, aVR/aVL/aVF, V, V1-V6, ML/MLI-MLIII, MCL,
Frank vx/vy/vz); the others (blood pressure, ...) become streams of kind ``"generic"``. The reference
annotations (``.atr``), when present, become events of kind ``"annotation"`` labelled with the
beat or rhythm symbol.
"""
from __future__ import annotations

from pathlib import Path

from ..reader import Recording, events_frame
from .common import FormatError, guess_kind, import_meta, regular_signal, require, unique_name


def read_wfdb(path: Path, annotator: str = "atr") -> Recording:
    """Import the WFDB record of header ``path`` (``.hea``, or a signal or annotation file beside
    it); signals in mV for ECG."""
    import wfdb

    path = path.with_suffix(".hea")
    require(path.is_file(), path, "no such WFDB header file")
    record_name = str(path.with_suffix(""))
    try:
        rec = wfdb.rdrecord(record_name, smooth_frames=False)
    except Exception as exc:  # wfdb raises many types for malformed headers and signal files
        raise FormatError(f"{path}: not a readable WFDB record ({type(exc).__name__}: {exc})") from None
    require(rec.e_p_signal is not None and rec.fs and rec.fs > 0, path,
            "header gives no sampling frequency or no signals")
    signals = []
    for name, unit, per_frame, values in zip(rec.sig_name, rec.units, rec.samps_per_frame,
                                             rec.e_p_signal):
        kind = guess_kind(name) or "generic"
        signals.append(regular_signal(unique_name(name, signals), kind, unit or "",
                                      rec.fs * per_frame, values, channels=(name,),
                                      device="wfdb"))
    rows = []
    if path.with_suffix(f".{annotator}").is_file():
        ann = wfdb.rdann(record_name, annotator)
        rows = [(s / rec.fs, 0.0, sym, "annotation", {"annotator": annotator}, i)
                for i, (s, sym) in enumerate(zip(ann.sample, ann.symbol))]
    start = None if rec.base_datetime is None else rec.base_datetime.isoformat()
    return Recording.from_signals(signals, events_frame(rows),
                                  import_meta(path, "wfdb", start, record=rec.record_name), path)

