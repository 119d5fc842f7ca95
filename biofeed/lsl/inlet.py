"""Any Lab Streaming Layer stream as a biofeed device (OpenSignals, EmotiBit, LabRecorder peers).

The stream's channels are grouped by what they carry (channel ``type`` metadata, else the
stream type; see :data:`~biofeed.lsl.config.KIND_OF_TYPE`), one biofeed stream per group,
named ``<prefix>.<kind>``. String streams (markers) become events.

Timestamps: LSL sample times plus the inlet's clock correction are mapped to the session clock
through ``time.monotonic``. For regular streams, samples are counted from an anchor at the
nominal rate, so chunks join without jitter; the anchor is reset (a gap) when the counted time
and the LSL time part by more than ``max(0.1 s, 5 samples)`` (lost samples, a restarted source).
"""
from __future__ import annotations

import asyncio
import re
from typing import AsyncIterator

import numpy as np

from ..clock import SessionClock
from ..devices.reconnect import ReconnectingDevice
from ..stream import Chunk, Event, StreamInfo
from .config import KIND_OF_TYPE, MICROSIEMENS, clock_offset, pylsl_module


def _channels(info) -> list[dict[str, str]]:
    """Per-channel label/type/unit metadata from an LSL StreamInfo (XDF channel convention)."""
    out, ch = [], info.desc().child("channels").child("channel")
    while not ch.empty() and len(out) < info.channel_count():
        out.append({k: ch.child_value(k) for k in ("label", "type", "unit")})
        ch = ch.next_sibling()
    out += [{"label": "", "type": "", "unit": ""}] * (info.channel_count() - len(out))
    return out


def _unit(kind: str, unit: str) -> str:
    if kind == "eda" and unit.strip().lower() in MICROSIEMENS:
        return "uS"
    return unit or "a.u."


def query_string(query: dict[str, str]) -> str:
    """LSL XPath predicate for a ``{field: value}`` query, e.g. ``name='OpenSignals'``."""
    return " and ".join(f"{k}='{v}'" for k, v in query.items())


class LslInlet(ReconnectingDevice):
    """An LSL stream found by a query such as ``{"name": "OpenSignals"}``.

    Parameters
    ----------
    query : dict
        Fields of the LSL stream info to match (``name``, ``type``, ``source_id``, ...).
    prefix : str, optional
        Prefix of the biofeed stream names (the LSL name, made safe, by default).
    resolve_timeout_s : float
        Seconds to wait for the stream when the device is created and on each reconnect.
    scope : str
        Discovery scope (:data:`~biofeed.lsl.config.SCOPES`).
    """

    def __init__(self, query: dict[str, str], prefix: str | None = None,
                 resolve_timeout_s: float = 5.0, scope: str = "machine") -> None:
        super().__init__()
        self._lsl = pylsl_module(scope)
        self.query = dict(query)
        self.resolve_timeout_s = resolve_timeout_s
        # A resolved info has no channel description; the full one comes from an inlet.
        info = self._lsl.StreamInlet(self._resolve()).info(self.resolve_timeout_s)
        self.id = f"lsl:{info.name()}"
        self.source_id = info.source_id()
        self.rate = float(info.nominal_srate())
        self.is_marker = info.channel_format() == self._lsl.cf_string
        prefix = prefix or re.sub(r"[^A-Za-z0-9_-]+", "-", info.name()).strip("-").lower() or "lsl"
        self.prefix = prefix
        groups: dict[str, list[int]] = {}
        chans = _channels(info)
        stream_kind = KIND_OF_TYPE.get(info.type().strip().lower())
        for i, ch in enumerate(chans):
            kind = KIND_OF_TYPE.get(ch["type"].strip().lower(), stream_kind)
            if kind is not None:
                groups.setdefault(kind, []).append(i)
        if not self.is_marker and not groups:
            raise ValueError(f"LSL stream {info.name()!r} (type {info.type()!r}): no channel type "
                             f"biofeed knows; expected one of {sorted(set(KIND_OF_TYPE))}")
        self._groups = []
        for kind, idx in groups.items():
            units = {_unit(kind, chans[i]["unit"]) for i in idx}
            labels = tuple(chans[i]["label"] or f"ch{i + 1}" for i in idx)
            s = StreamInfo(f"{prefix}.{kind}", kind, units.pop() if len(units) == 1 else "a.u.",
                           self.rate, labels, self.id)
            self._groups.append((s, np.array(idx)))
        self.streams = tuple(s for s, _ in self._groups)

    def describe(self) -> dict:
        return super().describe() | {"query": self.query, "source_id": self.source_id,
                                     "nominal_rate_hz": self.rate}

    def _resolve(self):
        found = self._lsl.resolve_bypred(query_string(self.query), 1, self.resolve_timeout_s)
        if not found:
            raise ConnectionError(f"no LSL stream matches {query_string(self.query)} "
                                  f"(waited {self.resolve_timeout_s:g} s)")
        return found[0]

    async def connection(self, clock: SessionClock) -> AsyncIterator[Chunk | Event]:
        from pylsl.util import LostError

        loop = asyncio.get_running_loop()
        info = await loop.run_in_executor(None, self._resolve)
        inlet = self._lsl.StreamInlet(info, recover=False)
        try:
            await loop.run_in_executor(None, inlet.open_stream, self.resolve_timeout_s)
            offset = clock_offset(self._lsl)
            correction = await loop.run_in_executor(None, inlet.time_correction, 2.0)
            anchor: tuple[float, int] | None = None        # (session time, samples counted)
            while True:
                try:
                    samples, stamps = await loop.run_in_executor(None, inlet.pull_chunk, 0.2)
                except LostError as exc:
                    raise ConnectionError(f"LSL stream lost: {exc}") from None
                if not stamps:
                    continue
                times = clock.at_monotonic(np.asarray(stamps) + correction - offset)
                if self.is_marker:
                    for t, s in zip(times, samples):
                        yield Event(0, float(t), 0.0, str(s[0]), "marker", {"stream": self.id})
                    continue
                values = np.asarray(samples, dtype=float)
                if self.rate > 0:
                    tol = max(0.1, 5.0 / self.rate)
                    if anchor is None or abs(anchor[0] + anchor[1] / self.rate - times[0]) > tol:
                        anchor = (float(times[0]), 0)
                    t0 = anchor[0] + anchor[1] / self.rate
                    anchor = (anchor[0], anchor[1] + len(values))
                    for s, idx in self._groups:
                        yield Chunk(s, values[:, idx], t0)
                else:
                    for s, idx in self._groups:
                        yield Chunk(s, values[:, idx], float(times[0]), times)
        finally:
            inlet.close_stream()
