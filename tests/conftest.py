"""Shared fixtures: where the reference recordings live, offscreen Qt."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Commands run as subprocesses print for a pipe, as wide as COLUMNS says. GNU readline, which
# pytest loads, puts the terminal's width (80 without one) into the process environment that
# subprocesses inherit; the tests read piped output at biofeed's own piped width instead
# (narrow terminals: tests/analysis/test_terminal_tables.py).
os.environ["COLUMNS"] = "160"

#: The reference recordings sit beside the checkout, never inside it (see its README).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real reference recordings (MIT-BIH 100, NeuroKit2 examples)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"reference recordings not found at {SHARED_DATA} (they live in ../shared/data)")
    return SHARED_DATA
