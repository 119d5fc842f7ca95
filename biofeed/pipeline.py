"""Which processors run on which streams: the signal core, declared per stream kind.

ECG -> R-peaks + RR + signal quality; PPG -> pulse peaks + RR + signal quality; every RR stream (from a detector or straight from
a device) -> artifact-corrected NN (one cleaner per RR stream), and that NN stream -> windowed
HRV, coherence and RSA amplitude per breath (breaths from the participant's first respiration
stream, or from the pacer when there is none); EDA -> SCL + SCRs, and signal quality;
respiration -> breath onsets; without a respiration belt, the participant's best other
breathing source (chest accelerometer > ECG-derived > PPG-derived respiration, see
:func:`breathing_processors`) -> a respiration stream of its own and its breath onsets; the
breaths -> RSA and pacer adherence (``{breaths}.pacing``);
the participant's first NN, HRV, SCL and SCR streams -> the arousal index. Participants are
told apart by device label (a dyad: ``parent@...``, ``child@...``); with exactly two labelled
participants, their first NN and SCL streams -> live synchrony (``synchrony.A.B.hr``, ``.scl``).
"""
from __future__ import annotations

from typing import Sequence

from .physio.acc_resp import AccRespProcessor
from .physio.arousal import ArousalProcessor
from .physio.breath import BreathProcessor
from .physio.coherence import CoherenceProcessor
from .physio.ecg import RPeakProcessor
from .physio.eda import EdaProcessor
from .physio.hrv import HRVProcessor
from .physio.ppg import PulseProcessor
from .physio.quality import EcgQuality, EdaQualityProcessor, PpgQuality
from .physio.rr import NNProcessor
from .physio.edr import EdrProcessor
from .physio.pdr import PdrProcessor
from .physio.rsa import PacingProcessor, RsaProcessor
from .physio.synchrony import SynchronyProcessor
from .devices.labels import label_of
from .processor import Batched, Processor
from .stream import StreamInfo

#: Processors that turn a raw stream of a kind into derived streams (one instance a stream).
_BY_KIND = {"ecg": RPeakProcessor, "ppg": PulseProcessor, "eda": EdaProcessor,
            "resp": BreathProcessor}
#: Input collected per call of those processors, seconds (fewer, larger calls; same output):
#: per-call overhead, not per-sample work, dominates their cost at 100 ms chunks. Each delay
#: is hidden by a longer one downstream: beats come at most 0.5 s later, but every index
#: derived from them waits for the NN stream's 5-beat look-ahead (about 4-5 s); SCL and SCRs,
#: which move over seconds, 1 s later (the tonic estimate looks 4 s ahead); breath onsets 4 s
#: later, which leaves RSA as late as before (its cycles wait for the NN stream too).
_BATCH_S = {"ecg": 0.5, "ppg": 0.5, "eda": 1.0, "resp": 4.0}
#: Signal-quality raters of the beat processors (``X.quality``, :mod:`biofeed.physio.quality`).
_BEAT_QUALITY = {"ecg": EcgQuality, "ppg": PpgQuality}


def raw_processors(info: StreamInfo) -> list[Processor]:
    """The processors of one raw stream, batched (:data:`_BATCH_S`): beats, RR and quality
    ``X.quality`` of ECG and PPG; SCL, SCRs and quality of EDA; breaths of respiration; none
    for other kinds."""
    if info.kind not in _BY_KIND:
        return []
    batch = _BATCH_S[info.kind]
    if info.kind in _BEAT_QUALITY:
        return [Batched(_BY_KIND[info.kind](info, quality=_BEAT_QUALITY[info.kind](info.rate)),
                        batch)]
    procs = [Batched(_BY_KIND[info.kind](info), batch)]
    if info.kind == "eda":
        procs.append(Batched(EdaQualityProcessor(info), batch))
    return procs


#: Batch of the accelerometer's respiration processor, s (its look-ahead is a 5 s hop).
_ACC_BATCH_S = 1.0


def breathing_processors(streams: Sequence[StreamInfo],
                         procs: Sequence[Processor]) -> tuple[list[Processor], str | None]:
    """The best breathing source of one participant and the processors it needs.

    Order (issue 18): a respiration belt (a raw ``resp`` stream, whose breath processor is
    among ``procs`` already) > a chest accelerometer (``acc``, 3 axes, from a device that also
    records ECG, i.e. a chest strap such as the Polar H10; a wrist or arm accelerometer does
    not see the chest wall tilt: :class:`~biofeed.physio.acc_resp.AccRespProcessor`) >
    ECG-derived respiration
    (:class:`~biofeed.physio.edr.EdrProcessor` on the first ECG, its R-peaks and NN) >
    PPG-derived (:class:`~biofeed.physio.pdr.PdrProcessor`). Only the chosen source runs.
    Returns the new processors (the derived respiration and its breath onsets) and the breath
    stream's name (None without any source); the derived streams' ``device`` names the method
    and inputs, and the RSA and pacing streams' ``device`` the breath stream they used.
    """
    outs = [o for p in procs for o in p.outputs]
    belt = next((o.name for o in outs if o.kind == "breath"), None)
    if belt is not None:
        return [], belt
    new: list[Processor] = []
    chest = {s.device for s in streams if s.kind == "ecg"}
    acc = next((s for s in streams if s.kind == "acc" and len(s.channels) >= 3 and s.regular
                and s.rate >= 4.0 and s.device in chest), None)
    if acc is not None:
        new.append(Batched(AccRespProcessor(acc), _ACC_BATCH_S))
    else:
        for kind, cls, peaks in (("ecg", EdrProcessor, "rpeaks"), ("ppg", PdrProcessor, "peaks")):
            src = next((s for s in streams if s.kind == kind and s.regular), None)
            if src is not None and f"{src.name}.rr" in {o.name for o in outs}:
                new.append(cls(src, f"{src.name}.{peaks}", f"{src.name}.rr.nn"))
                break
    if not new:
        return [], None
    resp = new[0].outputs[0]
    new.append(Batched(BreathProcessor(resp), _BATCH_S["resp"]))
    return new, new[-1].outputs[0].name


def rr_processors(rr: str, breaths: str | None = None,
                  rr_correction: str = "automatic") -> list[Processor]:
    """NN for one RR stream (ms), then HRV, coherence and RSA amplitude of that NN stream.

    The output streams are named ``{rr}.nn``, ``{rr}.hrv``, ``{rr}.coherence`` and
    ``{rr}.rsa``; RSA breath cycles come from the breath stream ``breaths``, or from the
    pacer when it is None. ``rr_correction`` is the artifact-correction level of the NN
    stream (:data:`biofeed.physio.rr.LEVELS`: Lipponen & Tarvainen 2019 by default, Kubios'
    threshold levels, or none).
    """
    clean = NNProcessor(rr, rr_correction)
    nn = clean.outputs[0].name
    return [clean, HRVProcessor(nn, name=f"{rr}.hrv"),
            CoherenceProcessor(nn, name=f"{rr}.coherence"),
            RsaProcessor(nn, breaths, name=f"{rr}.rsa")]


def default_processors(streams: Sequence[StreamInfo],
                       rr_correction: str = "automatic") -> list[Processor]:
    """The standard processors for a session's raw streams.

    Streams are grouped by device label (:func:`biofeed.devices.labels.label_of`): a label is
    one participant of a dyad, unlabelled devices are the session's one participant. Within a
    group, RSA takes its breaths from the group's first respiration stream and the arousal
    index (``LABEL.arousal``, or ``arousal`` for the unlabelled group) its inputs from the
    group's first NN, HRV, SCL and SCR streams, so no index mixes two people's signals.
    Every NN stream is corrected at level ``rr_correction`` (see :func:`rr_processors`).
    """
    groups: dict[str, list[StreamInfo]] = {}
    for s in streams:
        groups.setdefault(label_of(s), []).append(s)
    procs = [p for label, group in groups.items()
             for p in _participant(group, f"{label}.arousal" if label else "arousal",
                                   rr_correction)]
    return procs + _dyad(list(groups), procs)


def _dyad(labels: list[str], procs: list[Processor]) -> list[Processor]:
    """Live synchrony (:class:`~biofeed.physio.synchrony.SynchronyProcessor`) of a dyad, i.e.
    exactly two participants, both labelled: HR from each one's first NN stream
    (``synchrony.A.B.hr``) and SCL from each one's first SCL stream (``synchrony.A.B.scl``);
    A is the first label, so a positive lag means B follows A."""
    if len(labels) != 2 or "" in labels:
        return []
    outs = [o for p in procs for o in p.outputs]
    found = []
    for kind, signal in (("nn", "hr"), ("scl", "scl")):
        first = [next((o.name for o in outs if o.kind == kind and o.name.startswith(f"{who}.")),
                      None) for who in labels]
        if None not in first:
            found.append(SynchronyProcessor(*first, kind, f"synchrony.{labels[0]}.{labels[1]}.{signal}"))
    return found


def _participant(streams: list[StreamInfo], arousal: str,
                 rr_correction: str) -> list[Processor]:
    """The processors of one participant's raw streams; the arousal index is named
    ``arousal``, the NN streams are corrected at level ``rr_correction``."""
    procs: list[Processor] = [p for s in streams for p in raw_processors(s)]
    rr_streams = [s.name for s in streams if s.kind == "rr"]
    rr_streams += [o.name for p in procs for o in p.outputs if o.kind == "rr"]
    breathing, breaths = breathing_processors(streams, procs)
    for rr in rr_streams:
        procs += rr_processors(rr, breaths, rr_correction)
    procs += breathing
    if breaths is not None:
        procs.append(PacingProcessor(breaths))
    first = {}
    for out in (o for p in procs for o in p.outputs):
        first.setdefault(out.kind, out.name)
    if {"nn", "hrv", "scl", "scr"} <= first.keys():
        procs.append(ArousalProcessor(first["nn"], first["hrv"], first["scl"], first["scr"],
                                      name=arousal))
    return procs
