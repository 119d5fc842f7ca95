"""A processor that feeds the live arousal index to the runner's arousal stop rules.

It subscribes to one participant's arousal stream (kind ``"arousal"``, channel 0 = the
composite index in baseline SDs; :mod:`biofeed.physio.arousal`) and hands every sample to
:meth:`biofeed.protocol.runner.ProtocolRunner.observe_arousal` with the participant's label;
a dyad has one watch per participant. It produces no streams.
"""
from __future__ import annotations

from ..processor import Processor
from ..stream import Chunk
from .runner import ProtocolRunner


class ArousalWatch(Processor):
    """Passes arousal samples (session time s, baseline SDs) to a runner.

    Parameters
    ----------
    runner : ProtocolRunner
    arousal : str
        Name of the arousal stream.
    participant : str
        Whose it is (device label; "" when unlabelled).
    """

    def __init__(self, runner: ProtocolRunner, arousal: str = "arousal",
                 participant: str = "") -> None:
        self.runner = runner
        self.participant = participant
        self.inputs = (arousal,)
        self.outputs = ()

    def update(self, chunk: Chunk) -> list[Chunk]:
        for t, value in zip(chunk.times, chunk.values[:, 0]):
            self.runner.observe_arousal(float(t), float(value), self.participant)
        return []
