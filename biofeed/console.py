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


#: Width a column of a rich table adds to its text: padding (1 + 1) and its border.
_COLUMN_EXTRA = 3


def _cell_text(value, spec: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, float) and not np.isfinite(value):
        return "-"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format(value, spec)
    return "" if value is None else str(value)


def _longest_word(text_: str) -> int:
    return max((len(w) for w in text_.split()), default=0)


class FittedTable:
    """A table that fits the terminal it is printed on, never cut.

    Shown as it is when its columns fit the width (long cells and headers wrapped at spaces);
    else with rows and columns swapped (a column per row, e.g. per phase) when that fits;
    else split into column groups that fit, each repeating the first column. A word longer
    than its column is folded onto the next line, never cut with an ellipsis. Headers are
    the human ones (:func:`biofeed.analysis.columns.header`: ``RMSSD (ms)``, not
    ``rmssd_ms``); every string is plain text (:func:`text`).
    """

    def __init__(self, headers: list[str], rows: list[list[str]], numeric: list[bool],
                 title: str) -> None:
        self.headers, self.rows, self.numeric, self.title = headers, rows, numeric, title

    def transposed(self) -> "FittedTable":
        heads = [self.headers[0]] + [row[0] for row in self.rows]
        rows = [[h] + [row[j] for row in self.rows] for j, h in enumerate(self.headers) if j > 0]
        return FittedTable(heads, rows, [False] + [True] * len(self.rows), self.title)

    def _widths(self, columns: list[int]) -> tuple[int, int]:
        """(natural, smallest unbroken) width of ``columns`` as a rich table, characters."""
        cols = [[self.headers[j], *(r[j] for r in self.rows)] for j in columns]
        natural = sum(max(len(c) for c in col) for col in cols)
        smallest = sum(max(_longest_word(c) for c in col) for col in cols)
        extra = _COLUMN_EXTRA * len(columns) + 1
        return natural + extra, smallest + extra

    def fits(self, width: int, columns: list[int] | None = None) -> bool:
        return self._widths(columns or list(range(len(self.headers))))[1] <= width

    def groups(self, width: int) -> list[list[int]]:
        """Column groups that each fit ``width``, the first column in every group."""
        out, current = [], [0]
        for j in range(1, len(self.headers)):
            if len(current) > 1 and not self.fits(width, current + [j]):
                out.append(current)
                current = [0]
            current.append(j)
        out.append(current)
        return out

    def _column_widths(self, columns: list[int], width: int) -> list[int]:
        """Each column's text width: its natural width when all fit in ``width``, else its
        longest word plus a share of the room left, in proportion to what it lacks."""
        cols = [[self.headers[j], *(r[j] for r in self.rows)] for j in columns]
        natural = [max(len(c) for c in col) for col in cols]
        smallest = [max(max(_longest_word(c) for c in col), 1) for col in cols]
        room = width - _COLUMN_EXTRA * len(columns) - 1
        if sum(natural) <= room:
            return natural
        if sum(smallest) > room:      # a word longer than the room: its column is folded
            widest = int(np.argmax(smallest))
            smallest[widest] = max(smallest[widest] - (sum(smallest) - room), 8)
            return smallest
        spare, lack = max(room - sum(smallest), 0), [n - m for n, m in zip(natural, smallest)]
        total = sum(lack) or 1
        return [m + (spare * k) // total for m, k in zip(smallest, lack)]

    def table(self, columns: list[int], title: str, width: int) -> Table:
        dashed = any(row[j] == "-" for row in self.rows for j in columns)
        t = Table(title=text(title), title_justify="left", caption_justify="left",
                  caption=text("-: no value") if dashed else None)
        for j, w in zip(columns, self._column_widths(columns, width)):
            t.add_column(text(self.headers[j]), justify="right" if self.numeric[j] else "left",
                         overflow="fold", width=w)
        for row in self.rows:
            t.add_row(*(text(row[j]) for j in columns))
        return t

    def layout(self, width: int) -> list[Table]:
        """The tables to print at ``width`` characters."""
        everything = list(range(len(self.headers)))
        if self.fits(width) or len(self.headers) < 2:
            return [self.table(everything, self.title, width)]
        swapped = self.transposed() if self.rows else None
        if swapped is not None and swapped.fits(width):
            return [swapped.table(list(range(len(swapped.headers))), self.title, width)]
        options = [self] + ([swapped] if swapped is not None else [])
        best = min(options, key=lambda t: len(t.groups(width)))
        groups = best.groups(width)
        if len(groups) == 1:
            return [best.table(groups[0], self.title, width)]
        return [best.table(g, f"{self.title} ({i}/{len(groups)})", width) for i, g in
                enumerate(groups, 1)]

    def __rich_console__(self, console, options):
        yield from self.layout(options.max_width)


def dataframe_table(df: pd.DataFrame, title: str, formats: dict[str, str] | None = None) -> FittedTable:
    """A table of a DataFrame that fits the terminal (:class:`FittedTable`): human headers
    with units, numbers formatted by column (``formats``: column -> spec), booleans as yes/no,
    NaN as ``-``, numbers right-aligned and text left-aligned.

    The title, the headers and every cell are plain text (:func:`text`): names, ids, paths and
    labels are never read as rich markup, and their control characters are shown, not sent.
    """
    from .analysis.columns import header

    formats = formats or {}
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]
    rows = [[_cell_text(v, formats.get(c, "")) for c, v in zip(df.columns, row)]
            for row in df.itertuples(index=False)]
    return FittedTable([header(str(c)) for c in df.columns], rows, numeric, title)
