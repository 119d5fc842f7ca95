"""Importers of other tools' recordings, one module a format; each returns a
:class:`~biofeed.record.reader.Recording` held in memory that ``biofeed analyze`` accepts.

:func:`importer_for` picks the importer from the path; :func:`biofeed.read` uses it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..reader import Recording

Importer = Callable[..., Recording]


def importer_for(path: Path) -> Importer | None:
    """The importer of ``path`` by its type, or None for a biofeed session file.

    ``.hea`` WFDB, ``.edf``/``.bdf`` EDF(+)/BDF(+), ``.xdf`` XDF, ``*_physio.tsv.gz`` BIDS
    physio, a folder or ``.zip`` Empatica E4, ``.txt`` OpenSignals, ``.csv``/``.tsv`` tables.
    """
    name = path.name.lower()
    if name.endswith("_physio.tsv.gz"):
        from .bids import read_bids
        return read_bids
    suffix = path.suffix.lower()
    if suffix == ".hea":
        from .wfdb import read_wfdb
        return read_wfdb
    if suffix in (".edf", ".bdf"):
        from .edf import read_edf
        return read_edf
    if suffix == ".xdf":
        from .xdf import read_xdf
        return read_xdf
    if suffix == ".zip" or path.is_dir():
        from .empatica import read_empatica
        return read_empatica
    if suffix == ".txt":
        from .opensignals import read_opensignals
        return read_opensignals
    if suffix in (".csv", ".tsv"):
        from .table import read_table
        return read_table
    return None
