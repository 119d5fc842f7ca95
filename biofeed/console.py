"""Terminal display: live per-second status while a session runs, tables afterwards (rich).

Every user-controlled string (participant ids, device labels, phase labels, protocol names,
notes, file paths, error messages quoting them) reaches the terminal through :func:`plain`
(inside markup) or :func:`text` (as a rich ``Text``, no markup at all): rich markup in them is
shown literally (``[/x]`` never crashes, ``[link=...]`` is never a link), and control
characters are shown as ``\\xNN`` escapes, so an ANSI escape sequence in a file name cannot
recolour, move the cursor or retitle the terminal.
"""
from __future__ import annotations

import asyncio
import re

import numpy as np
import pandas as pd
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .live import LiveBuffers
from .protocol.runner import ProtocolRunner


#: C0 controls except tab and newline, DEL, C1 controls (CSI 0x9b included), and the Unicode
#: bidirectional overrides and isolates (which reorder what a terminal shows).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object) -> str:
    """``str(value)`` with every control character (but tab and newline) shown as ``\\xNN``."""
    return _CONTROLS.sub(_visible, str(value))


def plain(value: object) -> str:
    """``str(value)`` made safe to put inside rich markup: controls shown as ``\\xNN``
    (:func:`clean`) and markup escaped, so it prints exactly as written."""
    return escape(clean(value))


def text(value: object, style: str = "") -> Text:
    """``str(value)`` as a rich ``Text`` (never read as markup), controls shown (:func:`clean`)."""
    return Text(clean(value), style=style)


class SafeConsole(Console):
    """A rich Console that never sends a control character it was given: every string it
    renders (``print`` arguments, table cells and titles given as str) passes through
    :func:`clean` before its markup is parsed. Defence in depth under :func:`plain` and
    :func:`text`, which callers still use for markup; rich's own styling is unaffected."""

    def render_str(self, text: str, *args, **kwargs):
        return super().render_str(clean(text), *args, **kwargs)


def current_status(live: LiveBuffers, runner: ProtocolRunner | None) -> dict:
    """Phase, elapsed session seconds, HR (bpm), SCL (uS) and samples recorded, right now."""
    t = live.clock.now() if live.clock is not None and live.clock.started else 0.0
    if live.end_s is not None:
        t = min(t, live.end_s)
    state = runner.state_at(t) if runner is not None else None
    hr = scl = float("nan")
    rr_streams = live.of_kind("rr")
    if rr_streams:
        _, rr = live.window(rr_streams[0], seconds=10.0)
        if len(rr):
            hr = 60000.0 / float(np.mean(rr[-5:, 0]))
    for kind, seconds in (("scl", 1.0), ("eda", 1.0)):
        names = live.of_kind(kind)
        if names:
            _, v = live.window(names[0], seconds=seconds)
            if len(v):
                scl = float(np.mean(v[:, 0]))
                break
    return {"phase": state.phase.label if state is not None else "-", "elapsed_s": t,
            "hr_bpm": hr, "scl_us": scl, "samples": live.samples}


def _fmt(x: float, spec: str) -> str:
    return "-" if not np.isfinite(x) else format(x, spec)


def status_line(s: dict) -> str:
    return (f"{s['elapsed_s']:7.1f} s  phase {s['phase']:<16} HR {_fmt(s['hr_bpm'], '5.1f')} bpm  "
            f"SCL {_fmt(s['scl_us'], '5.2f')} uS  samples {s['samples']:,}")


async def show_status(live: LiveBuffers, runner: ProtocolRunner | None, console: Console,
                      every_s: float = 1.0) -> None:
    """Redraw the status every ``every_s`` real seconds until cancelled.

    On a terminal one line is redrawn in place; otherwise (a pipe, a log) one line is printed
    each time.
    """
    if console.is_terminal:
        with Live(text(status_line(current_status(live, runner))), console=console,
                  refresh_per_second=4, transient=True) as display:
            while True:
                await asyncio.sleep(every_s)
                display.update(text(status_line(current_status(live, runner))))
    else:
        while True:
            await asyncio.sleep(every_s)
            console.print(text(status_line(current_status(live, runner))), highlight=False)


def dataframe_table(df: pd.DataFrame, title: str, formats: dict[str, str] | None = None) -> Table:
    """A rich table of a DataFrame, numbers formatted by column (``formats``: column -> spec).

    The title, the headers and every cell are plain text (:func:`text`): names, ids, paths and
    labels are never read as rich markup, and their control characters are shown, not sent.
    """
    formats = formats or {}
    table = Table(title=text(title), title_justify="left")
    for col in df.columns:
        table.add_column(text(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(text("-" if isinstance(v, float) and not np.isfinite(v)
                             else format(v, formats.get(c, "")) if isinstance(v, (int, float))
                             else v) for c, v in zip(df.columns, row)))
    return table
