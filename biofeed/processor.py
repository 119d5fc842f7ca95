"""Processors: small stateful, causal computations that turn streams into derived streams.

A processor consumes chunks of the streams named in :attr:`Processor.inputs` and returns chunks
of the streams it declares in :attr:`Processor.outputs`. Processors are causal with bounded
look-ahead and chunk-size invariant: feeding a recording in one chunk or in ten thousand gives
the same output samples. At the end of data :meth:`Processor.flush` releases whatever the
look-ahead still holds.

Offline analysis replays a recording through the same processors, so what a clinician saw live
is what the report says.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .stream import Chunk, Event, StreamInfo


def check_input(info: StreamInfo, kind: str, channel: int = 0, unit: str | None = None) -> None:
    """Raise ``ValueError`` naming the stream unless it is a regular stream of ``kind`` (in
    ``unit``, when given) that has a channel ``channel``: what a processor of one raw stream
    needs of its input."""
    if info.kind != kind or not info.regular or (unit is not None and info.unit != unit):
        want = f"a regular {kind!r} stream" + (f" in {unit}" if unit else "")
        raise ValueError(f"stream {info.name!r}: need {want}, got kind {info.kind!r}, unit "
                         f"{info.unit!r} at {info.rate} Hz")
    if not 0 <= channel < len(info.channels):
        raise ValueError(f"stream {info.name!r} has no channel {channel}")


class Processor(ABC):
    """Base class of every online processor (one ``update()`` per incoming chunk)."""

    #: Names of the streams this processor consumes.
    inputs: tuple[str, ...] = ()
    #: Streams this processor emits (``derived=True``).
    outputs: tuple[StreamInfo, ...] = ()

    @abstractmethod
    def update(self, chunk: Chunk) -> list[Chunk]:
        """Consume one chunk of an input stream; return the derived chunks now available."""

    def on_event(self, event: Event) -> list[Chunk]:
        """A protocol event (phase, prompt, marker); processors that need phases override this."""
        return []

    def flush(self) -> list[Chunk]:
        """End of data: return what the look-ahead still holds (default: nothing)."""
        return []


class Batched(Processor):
    """Feeds a chunk-size invariant processor of one regular stream in batches.

    Per-call overhead (filter set-up, numpy dispatch) dominates when chunks are small (10 EDA
    samples every 100 ms). Collecting at least ``seconds`` of contiguous input before calling
    the wrapped processor changes no output value (the processor is chunk-size invariant) and
    adds at most ``seconds`` of latency. A gap in the input releases what was collected first.

    Parameters
    ----------
    inner : Processor
        Consumes exactly one regular stream.
    seconds : float
        Input collected per call, session seconds.
    """

    def __init__(self, inner: Processor, seconds: float) -> None:
        if len(inner.inputs) != 1:
            raise ValueError(f"Batched wraps a processor of one stream, {type(inner).__name__} "
                             f"reads {len(inner.inputs)}")
        self.inner = inner
        self.inputs, self.outputs = inner.inputs, inner.outputs
        self.seconds = float(seconds)
        self._pending: list[Chunk] = []
        self._samples = 0

    def update(self, chunk: Chunk) -> list[Chunk]:
        out: list[Chunk] = []
        if self._pending and abs(chunk.t0 - self._pending[-1].t_end) > 0.5 / chunk.info.rate:
            out += self._release()
        self._pending.append(chunk)
        self._samples += len(chunk)
        if self._samples >= self.seconds * chunk.info.rate:
            out += self._release()
        return out

    def _release(self) -> list[Chunk]:
        if not self._pending:
            return []
        first = self._pending[0]
        merged = Chunk(first.info, np.concatenate([c.values for c in self._pending]), first.t0)
        self._pending, self._samples = [], 0
        return self.inner.update(merged)

    def on_event(self, event: Event) -> list[Chunk]:
        return self.inner.on_event(event)

    def flush(self) -> list[Chunk]:
        return self._release() + self.inner.flush()
