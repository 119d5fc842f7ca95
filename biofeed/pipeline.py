"""Which processors run on which streams: the signal core, declared per stream kind."""
from __future__ import annotations

from typing import Sequence

from .processor import Processor
from .stream import StreamInfo


def default_processors(streams: Sequence[StreamInfo]) -> list[Processor]:
    """The standard processors for a session's raw streams."""
    return []
