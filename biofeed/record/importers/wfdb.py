"""WFDB records (PhysioNet): ``<record>.hea`` header + signal files, annotations in ``.atr``.

Read with the ``wfdb`` package (physical units from the header's gain and baseline). Each
signal whose name suggests a kind becomes a stream; the reference annotations (``.atr``), when
present, become events of kind ``"annotation"`` labelled with the beat or rhythm symbol.
"""
from __future__ import annotations

from pathlib import Path

from ..reader import Recording, events_frame
from .common import FormatError, guess_kind, import_meta, regular_signal, require, unique_name


def read_wfdb(path: Path, annotator: str = "atr") -> Recording:
    """Import the WFDB record of header ``path`` (``.hea``); signals in mV for ECG."""
    import wfdb

    require(path.is_file(), path, "no such WFDB header file")
    record_name = str(path.with_suffix(""))
    try:
        rec = wfdb.rdrecord(record_name)
    except Exception as exc:  # wfdb raises many types for malformed headers and signal files
        raise FormatError(f"{path}: not a readable WFDB record ({type(exc).__name__}: {exc})") from None
    require(rec.p_signal is not None and rec.fs and rec.fs > 0, path,
            "header gives no sampling frequency or no signals")
    signals = []
    for i, (name, unit) in enumerate(zip(rec.sig_name, rec.units)):
        kind = guess_kind(name)
        if kind is not None:
            signals.append(regular_signal(unique_name(name, signals), kind, unit or "", rec.fs,
                                          rec.p_signal[:, i], channels=(name,), device="wfdb"))
    require(bool(signals), path, f"no signal of a known kind among {rec.sig_name} "
                                 "(expected ECG, EDA, PPG, respiration, ...)")
    rows = []
    if path.with_suffix(f".{annotator}").is_file():
        ann = wfdb.rdann(record_name, annotator)
        rows = [(s / rec.fs, 0.0, sym, "annotation", {"annotator": annotator}, i)
                for i, (s, sym) in enumerate(zip(ann.sample, ann.symbol))]
    start = None if rec.base_datetime is None else rec.base_datetime.isoformat()
    return Recording.from_signals(signals, events_frame(rows),
                                  import_meta(path, "wfdb", start, record=rec.record_name), path)

