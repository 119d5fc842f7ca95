"""An A4 PDF of headings, paragraphs, tables and figures, drawn by matplotlib's PDF backend
(no browser): text flows down the page and onto the next; tables too wide for the page are
split into column groups (their first column repeated) and tables too long into row groups
(their header repeated); figures are drawn as sub-figures of A4 pages, several a page.
"""
from __future__ import annotations

import textwrap
from typing import IO

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .. import __version__
from .figures import STYLE, FigureSpec
from .tables import Table

#: A4 portrait, inches; margin, inches.
PAGE_IN, MARGIN_IN = (8.27, 11.69), 0.6
#: Table text size, points; characters of that size a line of the page's width holds.
TABLE_PT, TABLE_CHARS = 8.0, 118
#: Longest cell line before it wraps, characters.
CELL_CHARS = 44
#: Figures are drawn at this fraction of their height on the page (the page is narrower).
FIGURE_SCALE = 0.72


def _chars(text: str) -> int:
    """Width of ``text``'s longest line in average characters (capitals and bold count more)."""
    return max((round(len(line) * 1.12) + 1 for line in text.split("\n")), default=0)


def _wrap(text: str, width: int) -> str:
    width = max(int(width / 1.12), 8)
    return "\n".join(textwrap.fill(part, width) if len(part) > width else part
                     for part in text.split("\n")) or ""


class PdfReport:
    """A PDF document written to ``f`` (a binary file) as content is added; use as a context
    manager (the last page is written and the file closed on exit)."""

    def __init__(self, f: IO[bytes], title: str) -> None:
        # no creation date: the same analysis gives the same bytes
        self._pdf = PdfPages(f, metadata={"Title": title, "Creator": f"biofeed {__version__}",
                                          "CreationDate": None})
        self._fig: Figure | None = None
        self._y = MARGIN_IN            # inches from the top of the page
        self._figures: list[tuple[FigureSpec, object]] = []
        self._rc = matplotlib.rc_context(STYLE)

    def __enter__(self) -> "PdfReport":
        self._rc.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self.new_page()
        finally:
            self._pdf.close()
            self._rc.__exit__(*exc)

    # -- flow -------------------------------------------------------------------------------

    @property
    def _width(self) -> float:
        return PAGE_IN[0] - 2 * MARGIN_IN

    def _need(self, height_in: float) -> Figure:
        """The current page, or a new one when ``height_in`` does not fit below the cursor."""
        self._flush_figures()
        if self._fig is not None and self._y + height_in > PAGE_IN[1] - MARGIN_IN \
                and self._y > MARGIN_IN:
            self._write_page()
        if self._fig is None:
            self._fig = Figure(figsize=PAGE_IN)
            self._y = MARGIN_IN
        return self._fig

    def _write_page(self) -> None:
        if self._fig is not None:
            self._fig.text(0.5, MARGIN_IN / 2 / PAGE_IN[1], f"{self._pdf.get_pagecount() + 1}",
                           ha="center", fontsize=8, color="0.5")
            self._pdf.savefig(self._fig)
            self._fig = None

    def new_page(self) -> None:
        """End the current page (figures waiting are drawn first)."""
        self._flush_figures()
        self._write_page()

    def _text(self, text: str, size: float, height_in: float, **kw) -> None:
        fig = self._need(height_in)
        fig.text(MARGIN_IN / PAGE_IN[0], 1 - self._y / PAGE_IN[1], text, fontsize=size,
                 va="top", ha="left", linespacing=1.35, **kw)
        self._y += height_in

    def heading(self, text: str, size: float = 13) -> None:
        """A bold heading (kept with at least an inch of what follows)."""
        self._need(size / 72 * 1.9 + 1.0)
        self._y += size / 72 * 0.6
        self._text(text, size, size / 72 * 1.6, weight="bold")

    def paragraph(self, text: str, size: float = 9, colour: str = "0.15", box: bool = False) -> None:
        """Wrapped text at ``size`` points (``box``: framed, for the disclaimer)."""
        chars = int(self._width * 72 / (size * 0.52))
        lines = textwrap.wrap(text, chars - (4 if box else 0)) or [""]
        height = len(lines) * size / 72 * 1.35 + size / 72 * 0.8
        kw = {"bbox": {"boxstyle": "round,pad=0.5", "fc": "#fff8e1", "ec": "#c9a227"}} if box else {}
        if box:
            self._y += 0.08
        self._text("\n".join(lines), size, height + (0.12 if box else 0), color=colour, **kw)

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        """``(field, value)`` rows as a two-column table without a header."""
        self.table(Table(["", ""], [[k, v] for k, v in rows], [False, False]), header=False)

    # -- tables -----------------------------------------------------------------------------

    def table(self, t: Table, transpose: bool = False, header: bool = True) -> None:
        """``t`` (or its transpose), split into column groups that fit the page's width and row
        groups that fit its height; its footnotes below it."""
        if not t.rows:
            self.paragraph("none")
            return
        shown = t.transposed() if transpose else t
        for columns in self._column_groups(shown):
            part = Table([shown.headers[j] for j in columns],
                         [[row[j] for j in columns] for row in shown.rows],
                         [shown.numeric[j] for j in columns])
            self._rows(part, header)
        for i, note in enumerate(t.notes, 1):
            self.paragraph(f"{i}. {note}", size=8, colour="0.3")

    @staticmethod
    def _widths(t: Table) -> list[int]:
        """Each column's width in characters: its longest cell or (bold) header line, at most
        :data:`CELL_CHARS`, plus padding."""
        return [min(max(round(_chars(t.headers[j]) * 1.12), *(_chars(r[j]) for r in t.rows)),
                    CELL_CHARS) + 2 for j in range(len(t.headers))]

    @classmethod
    def _column_groups(cls, t: Table) -> list[list[int]]:
        width = cls._widths(t)
        groups, current, used = [], [0], width[0]
        for j in range(1, len(width)):
            if used + width[j] > TABLE_CHARS and len(current) > 1:
                groups.append(current)
                current, used = [0], width[0]
            current.append(j)
            used += width[j]
        groups.append(current)
        return groups

    def _rows(self, t: Table, header: bool) -> None:
        line_in = TABLE_PT / 72 * 1.45
        width = self._widths(t)
        heads = [_wrap(h, w - 2) for h, w in zip(t.headers, width)]
        body = [[_wrap(c, w - 2) for c, w in zip(row, width)] for row in t.rows]

        def height(row: list[str]) -> float:
            return (max(c.count("\n") for c in row) + 1) * line_in + 0.06

        head_h = height(heads) if header else 0.0
        body_h = [height(row) for row in body]
        i = 0
        while i < len(body):
            self._need(head_h + body_h[i])          # the header and one row, or a new page
            room = PAGE_IN[1] - MARGIN_IN - self._y
            used, j = head_h, i
            while j < len(body) and used + body_h[j] <= room:
                used += body_h[j]
                j += 1
            if j == i:                              # a row taller than a page: drawn anyway
                used, j = used + body_h[i], i + 1
            self._draw(self._fig, ([heads] if header else []) + body[i:j],
                       ([head_h] if header else []) + body_h[i:j], width, t.numeric, header)
            self._y += used + 0.12
            i = j
            if i < len(body):
                self._write_page()

    def _draw(self, fig: Figure, rows: list[list[str]], heights: list[float], width: list[int],
              numeric: list[bool], header: bool) -> None:
        total_w = min(sum(width) / TABLE_CHARS, 1.0) * self._width
        total_h = sum(heights)
        ax = fig.add_axes((MARGIN_IN / PAGE_IN[0], 1 - (self._y + total_h) / PAGE_IN[1],
                           total_w / PAGE_IN[0], total_h / PAGE_IN[1]))
        ax.axis("off")
        tab = ax.table(cellText=rows, cellLoc="left", bbox=(0, 0, 1, 1))
        tab.auto_set_font_size(False)
        tab.set_fontsize(TABLE_PT)
        for (r, c), cell in tab.get_celld().items():
            cell.set_width(width[c] / sum(width))
            cell.set_height(heights[r] / total_h)
            cell.set_edgecolor("0.8")
            cell.set_linewidth(0.5)
            if r == 0 and header:
                cell.set_facecolor("0.94")
                cell.get_text().set_fontweight("bold")
            elif numeric[c]:
                cell._loc = "right"
                cell.get_text().set_ha("right")

    # -- figures ----------------------------------------------------------------------------

    def figure(self, spec: FigureSpec, analysis) -> None:
        """Draw ``spec`` of ``analysis`` on a figure page (pages are filled with figures in
        order; text after them starts a new page)."""
        self._figures.append((spec, analysis))

    def _flush_figures(self) -> None:
        waiting, self._figures = self._figures, []
        if not waiting:
            return
        if self._fig is not None:
            self._write_page()
        room = PAGE_IN[1] - 2 * MARGIN_IN
        page: list[tuple[FigureSpec, object]] = []
        for item in waiting:
            if page and sum(self._height(s) for s, _ in page + [item]) > room:
                self._figure_page(page)
                page = []
            page.append(item)
        if page:
            self._figure_page(page)

    @staticmethod
    def _height(spec: FigureSpec) -> float:
        return spec.height_in * FIGURE_SCALE + 0.35

    def _figure_page(self, items: list[tuple[FigureSpec, object]]) -> None:
        fig = Figure(figsize=PAGE_IN, layout="constrained")
        usable = PAGE_IN[1] - 2 * MARGIN_IN
        used = sum(self._height(s) for s, _ in items)
        fig.get_layout_engine().set(rect=(MARGIN_IN / PAGE_IN[0], MARGIN_IN / PAGE_IN[1],
                                          1 - 2 * MARGIN_IN / PAGE_IN[0], 1 - 2 * MARGIN_IN / PAGE_IN[1]),
                                    h_pad=0.08, hspace=0.04)
        ratios = [self._height(s) for s, _ in items] + [max(usable - used, 0.01)]
        subs = fig.subfigures(len(ratios), 1, height_ratios=ratios, squeeze=False)[:, 0]
        for sub, (spec, analysis) in zip(subs, items):
            sub.suptitle(spec.title, x=0.0, ha="left", fontweight="bold", fontsize=11)
            spec.draw(analysis, sub)
        self._fig = fig
        self._write_page()

