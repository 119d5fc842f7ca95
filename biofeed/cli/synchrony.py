"""``biofeed synchrony``: physiological synchrony of two participants of one recording."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from .common import positive

#: Number formats of the summary and per-phase tables.
FORMATS = {"mean_r": ".3f", "sd_r": ".3f", "mean_lag_s": "+.2f", "median_lag_s": "+.2f",
           "sd_lag_s": ".2f",
           "surrogate_mean_r": ".3f", "surrogate_sd_r": ".3f", "p": ".3f", "onset_s": ".1f",
           "duration_s": ".1f"}


def _pair(text: str) -> tuple[str, str]:
    """argparse type: two participant labels, ``A,B``."""
    labels = tuple(part.strip() for part in text.split(","))
    if len(labels) != 2 or not all(labels):
        raise argparse.ArgumentTypeError(f"expected two labels, A,B (e.g. parent,child), got {text!r}")
    return labels


def _lowpass(text: str) -> float:
    """argparse type: a low-pass frequency, Hz, 0 (none) up to below the 2 Hz Nyquist rate."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 2.0:
        raise argparse.ArgumentTypeError(f"expected 0 (none) or a frequency below 2 Hz, got {text!r}")
    return value


def register(sub) -> None:
    p = sub.add_parser("synchrony", help="physiological synchrony of two participants (windowed "
                       "cross-correlation with peak picking, tested against shuffled-segment "
                       "surrogates)")
    p.add_argument("session", type=Path, help="a session file or any recording biofeed reads")
    p.add_argument("--pair", type=_pair, required=True, metavar="A,B",
                   help="the two participants' device labels, e.g. parent,child (a positive lag "
                        "means B follows A)")
    p.add_argument("--signal", choices=("hr", "scl"), default="hr",
                   help="heart rate from the NN intervals (bpm), or skin conductance level (uS) "
                        "(default: hr)")
    p.add_argument("--window-s", type=positive, default=30.0, metavar="S",
                   help="window length, s (default: 30)")
    p.add_argument("--step-s", type=positive, default=5.0, metavar="S",
                   help="step between windows, s (default: 5)")
    p.add_argument("--max-lag-s", type=positive, default=8.0, metavar="S",
                   help="largest lag, s (default: 8, as the live synchrony streams)")
    p.add_argument("--surrogates", type=int, default=200, metavar="N",
                   help="shuffled-segment surrogate pairs for the chance level (default: 200)")
    p.add_argument("--surrogate-method", choices=("shift", "shuffle"), default="shift",
                   help="shift: the second series shifted circularly by a random amount "
                        "(Andrzejak et al. 2003); shuffle: cut into window-long segments put in a "
                        "random order (Moulder et al. 2018) (default: shift)")
    p.add_argument("--lowpass-hz", type=_lowpass, default=0.15, metavar="HZ",
                   help="low-pass of both 4 Hz series before the cross-correlation, Hz, so that "
                        "breathing (RSA) is not taken for synchrony; 0 for none (default: 0.15, "
                        "the LF/HF boundary)")
    p.add_argument("--csv", type=Path, default=None, metavar="PATH",
                   help="write the per-window table (start_s, r, lag_s) there; the file is "
                        "readable by its owner only, never replaces an existing one, and appears only "
                        "when complete")
    p.set_defaults(func=cmd_synchrony)


def cmd_synchrony(args: argparse.Namespace, console: Console) -> int:
    from ..analysis.synchrony import synchrony
    from ..console import dataframe_table, plain
    from ..record.private import private_output
    from ..record.reader import read

    (a, b), rec = args.pair, read(args.session)
    result = synchrony(rec, a, b, args.signal, args.window_s, args.step_s, args.max_lag_s,
                       args.surrogates, lowpass_hz=args.lowpass_hz,
                       surrogates=args.surrogate_method)
    settings = (f"window {args.window_s:g} s, step {args.step_s:g} s, max lag {args.max_lag_s:g} s, "
                f"{args.surrogates} surrogates")
    if args.lowpass_hz > 0:
        settings += f", low-pass {args.lowpass_hz:g} Hz"
    if args.surrogate_method != "shift":
        settings += f" ({args.surrogate_method})"
    console.print(dataframe_table(result.summary, f"{args.signal.upper()} synchrony of {a} and {b} "
                                  f"({settings})", FORMATS))
    console.print(dataframe_table(result.phases, "Mean peak r of the windows starting in each phase",
                                  FORMATS))
    if args.csv is not None:
        with private_output(args.csv, "choose another path or remove it") as f:
            result.windows.to_csv(f, index=False, lineterminator="\n")
        console.print(f"per-window table: {plain(args.csv)}")
    return 0
