"""WFDB records (PhysioNet): ``<record>.hea`` header + signal files, annotation files beside it.

Read with the ``wfdb`` package (physical units from the header's gain and baseline), each
signal at its own rate: a signal with ``k`` samples per frame is sampled at ``k`` times the
frame rate (read with ``smooth_frames=False``; averaging the frames would turn a 250 Hz ECG
into 62.5 Hz). Multi-segment records are read whole. Each signal whose name suggests a kind
becomes a stream (ECG leads by their names: I-III, aVR/aVL/aVF, V, V1-V6, ML/MLI-MLIII, MCL,
Frank vx/vy/vz); the others (blood pressure, ...) become streams of kind ``"generic"``. Every
annotation file beside the header (``.atr`` reference beats, ``.qrs`` detector output, ...)
becomes events of kind ``"annotation"`` labelled with the beat or rhythm symbol.
"""
from __future__ import annotations

from pathlib import Path

from ..reader import Recording, events_frame
from .common import FormatError, guess_kind, import_meta, regular_signal, require, unique_name


def _annotation_files(header: Path, signal_files: set[str]) -> list[str]:
    """Annotator names (file extensions) of the files ``<record>.<annotator>`` beside the
    header that are not its signal files; ``atr`` (the reference annotator) first."""
    stem = header.name[:-len(".hea")]
    found = [p.name[len(stem) + 1:] for p in header.parent.iterdir()
             if p.is_file() and p.name.startswith(f"{stem}.") and p.name != header.name
             and p.name not in signal_files]
    return sorted(found, key=lambda ext: (ext != "atr", ext))


def read_wfdb(path: Path, annotators: list[str] | None = None) -> Recording:
    """Import the WFDB record of header ``path`` (``.hea``, or a signal or annotation file beside
    it); signals in mV for ECG.

    ``annotators``: the annotation files to read by annotator name (file extension, e.g.
    ``["atr"]``); by default every ``<record>.<annotator>`` file beside the header that is not
    a signal file. Each annotation becomes an event labelled with its symbol, ``annotator`` and
    (rhythm labels such as ``(AFIB``) ``aux`` in its payload; a file that is not an annotation
    file is listed in ``meta["skipped"]``.
    """
    import wfdb

    path = path.with_suffix(".hea")
    require(path.is_file(), path, "no such WFDB header file")
    record_name = str(path.with_suffix(""))
    try:
        rec = wfdb.rdrecord(record_name, smooth_frames=False)
        header = wfdb.rdheader(record_name)
    except Exception as exc:  # wfdb raises many types for malformed headers and signal files
        raise FormatError(f"{path}: not a readable WFDB record ({type(exc).__name__}: {exc})") from None
    require(rec.e_p_signal is not None and rec.fs and rec.fs > 0, path,
            "header gives no sampling frequency or no signals")
    signals = []
    n = len(rec.e_p_signal)
    for i, (name, unit, per_frame, values) in enumerate(zip(
            rec.sig_name or [None] * n, rec.units or [None] * n, rec.samps_per_frame, rec.e_p_signal)):
        name = name or f"signal {i + 1}"        # a header may leave out the description
        kind = guess_kind(name) or "generic"
        signals.append(regular_signal(unique_name(name, signals), kind, unit or "",
                                      rec.fs * per_frame, values, channels=(name,),
                                      device="wfdb"))
    rows, skipped = [], []
    signal_files = set(getattr(header, "file_name", None) or [])
    for annotator in (_annotation_files(path, signal_files) if annotators is None else annotators):
        try:
            ann = wfdb.rdann(record_name, annotator)
        except Exception as exc:  # noqa: BLE001 - wfdb raises many types for files it cannot parse
            skipped.append(f"{path.stem}.{annotator} (not a WFDB annotation file: "
                           f"{type(exc).__name__}: {exc})")
            continue
        fs = float(ann.fs or rec.fs)
        for s, sym, aux in zip(ann.sample, ann.symbol, ann.aux_note):
            payload = {"annotator": annotator} | ({"aux": aux.rstrip("\x00")} if aux.rstrip("\x00") else {})
            rows.append((s / fs, 0.0, sym, "annotation", payload, len(rows)))
    start = None if rec.base_datetime is None else rec.base_datetime.isoformat()
    return Recording.from_signals(signals, events_frame(rows), import_meta(
        path, "wfdb", start_local=start, record=rec.record_name, skipped=skipped), path)
