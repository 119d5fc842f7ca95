"""Lab Streaming Layer on loopback: a real outlet read by biofeed, biofeed's outlets read by pylsl.

Discovery is confined to this machine (scope ``machine``: loopback only)."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import numpy as np
import pytest

import biofeed as bf
from biofeed.devices.simulated import SimulatedSensor
from biofeed.engine import Engine
from biofeed.lsl.config import pylsl_module
from biofeed.lsl.inlet import LslInlet
from biofeed.lsl.outlet import LslOutlet
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import Phase, Protocol
from biofeed.record.writer import SessionRecorder
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig

pytestmark = pytest.mark.slow
pylsl = pylsl_module("machine")


def _eda_outlet(name: str, rate: float = 32.0):
    info = pylsl.StreamInfo(name, "GSR", 1, rate, pylsl.cf_float32, f"{name}-src")
    ch = info.desc().append_child("channels").append_child("channel")
    ch.append_child_value("label", "EDA")
    ch.append_child_value("unit", "microsiemens")
    ch.append_child_value("type", "EDA")
    return pylsl.StreamOutlet(info)


def _push_counter(outlet, stop: threading.Event, rate: float = 32.0, start: float = 2.0) -> list:
    sent = []

    def run():
        n = 0
        while not stop.is_set():
            block = [[start + 0.01 * (n + i)] for i in range(8)]
            outlet.push_chunk(block)
            sent.extend(v[0] for v in block)
            n += 8
            time.sleep(8 / rate)

    threading.Thread(target=run, daemon=True).start()
    return sent


def test_an_lsl_eda_stream_is_recorded_as_eda_in_microsiemens(tmp_path):
    outlet = _eda_outlet("bf-test-eda")
    stop = threading.Event()
    sent = _push_counter(outlet, stop)
    try:
        inlet = LslInlet({"name": "bf-test-eda"})
        assert [(s.name, s.kind, s.unit, s.rate) for s in inlet.streams] == [
            ("bf-test-eda.eda", "eda", "uS", 32.0)]
        recorder = SessionRecorder(tmp_path)
        asyncio.run(Engine([inlet], sinks=[recorder], duration=3.0).run())
    finally:
        stop.set()
    sig = bf.read(recorder.path).signals["bf-test-eda.eda"]
    assert len(sig) > 40
    np.testing.assert_allclose(np.diff(sig.values), 0.01, atol=1e-5)    # contiguous, in order
    assert sig.values[0] in np.float32(sent)
    np.testing.assert_allclose(np.diff(sig.times), 1 / 32.0, atol=1e-9)


def test_lsl_markers_become_events(tmp_path):
    info = pylsl.StreamInfo("bf-test-markers", "Markers", 1, 0, pylsl.cf_string, "bf-m")
    outlet = pylsl.StreamOutlet(info)
    inlet = LslInlet({"name": "bf-test-markers"})
    assert inlet.streams == ()
    recorder = SessionRecorder(tmp_path)

    def send():
        time.sleep(1.0)
        for label in ("stim-1", "stim-2"):
            outlet.push_sample([label])
            time.sleep(0.3)

    threading.Thread(target=send, daemon=True).start()
    asyncio.run(Engine([inlet], sinks=[recorder], duration=2.5).run())
    events = bf.read(recorder.path).events
    markers = events[events.kind == "marker"]
    assert markers.label.tolist() == ["stim-1", "stim-2"]
    assert 0.5 < markers.onset.iloc[0] < 2.0


def test_biofeed_outlets_carry_metadata_samples_and_markers(tmp_path):
    protocol = Protocol("lsl-test", (Phase("a", "baseline", 2.0), Phase("b", "prompt", 2.0, "go", stressor=True),
                                     Phase("c", "recovery", 2.0)))
    runner = ProtocolRunner(protocol)
    session = Session([SimulatedSensor(SimConfig(seed=2), runner.state_at)], runner,
                      out_dir=tmp_path, sinks=[LslOutlet(prefix="bftest")], processors=[])
    future = session.start_in_thread()
    found = pylsl.resolve_bypred("name='bftest.eda'", 1, 5.0)
    markers = pylsl.resolve_bypred("name='bftest-markers'", 1, 5.0)
    assert found and markers
    eda_in, marker_in = pylsl.StreamInlet(found[0]), pylsl.StreamInlet(markers[0])
    eda_in.open_stream(5.0)
    marker_in.open_stream(5.0)
    desc = eda_in.info(5.0).desc().child("channels").child("channel")
    assert (desc.child_value("label"), desc.child_value("unit"), desc.child_value("type")) == ("EDA", "uS", "EDA")
    received, labels = [], []
    while not future.done():
        samples, _ = eda_in.pull_chunk(timeout=0.2)
        received += [s[0] for s in samples]
        texts, _ = marker_in.pull_chunk(timeout=0.0)
        labels += [json.loads(t[0])["label"] for t in texts]
    future.result()
    samples, _ = eda_in.pull_chunk(timeout=1.0)
    received += [s[0] for s in samples]
    texts, _ = marker_in.pull_chunk(timeout=1.0)
    labels += [json.loads(t[0])["label"] for t in texts]
    recorded = bf.read(session.path).signals["eda"].values
    assert len(received) > 100
    start = int(np.flatnonzero(recorded == received[0])[0])
    np.testing.assert_array_equal(received, recorded[start:start + len(received)])
    assert {"b", "c"} <= set(labels)


def test_devices_scan_finds_an_lsl_outlet_and_record_records_it(tmp_path):
    import subprocess
    import sys

    outlet = _eda_outlet("bf-scan-eda")
    stop = threading.Event()
    _push_counter(outlet, stop)
    try:
        scan = subprocess.run([sys.executable, "-m", "biofeed", "devices", "scan", "--timeout", "1.5"],
                              capture_output=True, text=True, timeout=60)
        assert scan.returncode == 0, scan.stderr
        assert "lsl:name=bf-scan-eda" in scan.stdout and "Bluetooth" in scan.stdout
        rec_run = subprocess.run([sys.executable, "-m", "biofeed", "record", "--device",
                                  "lsl:name=bf-scan-eda", "--duration", "3", "--out", str(tmp_path)],
                                 capture_output=True, text=True, timeout=60)
    finally:
        stop.set()
    assert rec_run.returncode == 0, rec_run.stderr
    path = next(tmp_path.glob("*.biofeed"))
    rec = bf.read(path)
    assert rec.complete and len(rec.signals["bf-scan-eda.eda"]) > 40
    assert "bf-scan-eda.eda.scl" in rec.streams           # the signal core ran on it


def _ss_listeners(pid: int) -> set[tuple[str, str, int]]:
    """The TCP/UDP sockets ``pid`` listens on, as ``ss`` (iproute2) reports them."""
    import re
    import subprocess

    out = subprocess.run(["ss", "-H", "-lntup"], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        if f"pid={pid}," in line:
            proto, _, _, _, local = line.split()[:5]
            host, port = local.rsplit(":", 1)
            found.add((proto, re.sub(r"^\[|\]$|%.*$", "", host), int(port)))
    return found


def test_the_command_says_which_lsl_sockets_other_computers_can_reach(tmp_path):
    """liblsl's data and time servers listen on every interface whatever the scope (it has no
    setting for it); discovery is on loopback only, and the command names every open port,
    checked against ``ss``."""
    import re
    import shutil
    import subprocess
    import sys

    from biofeed.lsl.exposure import Listener, _ranges

    if shutil.which("ss") is None:
        pytest.skip("iproute2's ss is not installed")
    proc = subprocess.Popen([sys.executable, "-m", "biofeed", "demo", "--headless", "--lsl",
                             "--duration", "30", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("LSL:"):
                break
        note = lines[-1]
        time.sleep(0.5)
        sockets = _ss_listeners(proc.pid)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert note.startswith("LSL: streams are found by programs on this computer only"), lines
    discovery = {s for s in sockets if s[2] == 16571}
    assert discovery and all(addr == "127.0.0.1" for _, addr, _ in discovery), discovery
    open_ = [Listener(p, a, port) for p, a, port in sockets if not Listener(p, a, port).loopback]
    assert {p for p, _, _ in sockets if p == "tcp"}, "no LSL data server"
    assert re.search(re.escape(_ranges(open_)) + r"\. Block", note), (note, open_)
