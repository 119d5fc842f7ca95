"""Helpers shared by the command modules."""
from __future__ import annotations

import argparse

from ..physio.rr import LEVELS


def participant_id(text: str) -> str:
    """argparse type: a participant id (:func:`biofeed.session.validate_participant`)."""
    from ..session import validate_participant

    try:
        return validate_participant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive(text: str) -> float:
    """argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


#: Help of a device spec (record, run, devices test): the syntax of :mod:`biofeed.devices.spec`.
DEVICE_HELP = ("a device, [LABEL@]KIND[:ARGS]: simulated, simulated:seed=3, lsl:name=OpenSignals, "
               "ble-hr:ADDRESS, polar-h10:ADDRESS, serial:PORT:PROFILE, bitalino:PORT. "
               "A LABEL (letters, digits, '-', '_') prefixes the device's stream "
               "names, for two participants' identical sensors: parent@simulated:seed=1 and "
               "child@simulated:seed=2 record parent.ecg and child.ecg. Use roles such as "
               "parent/child or a/b, not names. Unlabelled devices whose streams clash are "
               "labelled KIND-1, KIND-2, ...")


def rr_correction_option(p: argparse.ArgumentParser, default: str | None, when_unset: str) -> None:
    """``--rr-correction LEVEL``: the RR artifact-correction level of the NN streams."""
    p.add_argument("--rr-correction", choices=LEVELS, default=default, metavar="LEVEL",
                   help="RR artifact correction: automatic (Lipponen & Tarvainen 2019, as "
                        "Kubios' automatic correction), Kubios' threshold levels very_low, low, "
                        "medium, strong, very_strong (450, 350, 250, 150, 50 ms from the local "
                        "median at 60 bpm, scaled with heart rate), or none "
                        f"(default: {when_unset})")
