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

from .stream import Chunk, Event, StreamInfo


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
