"""Live window: sustained frame rate and engine chunk lag with ECG 1000 Hz + EDA + respiration.

    python benchmarks/bench_gui.py [SECONDS]

Runs the demo sequence in real time on the simulated sensor (ECG 1000 Hz, EDA 100 Hz,
respiration 50 Hz, every processor) in the main window, offscreen, for SECONDS (default 20),
and prints the frames per second the window sustained and the engine's chunk lag (session
clock at arrival in the live buffers minus the time of the chunk's newest sample) while it drew.
Targets: >= 30 fps, lag < 100 ms.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from biofeed.devices.simulated import SimulatedSensor  # noqa: E402
from biofeed.gui.window import MainWindow  # noqa: E402
from biofeed.protocol.runner import ProtocolRunner  # noqa: E402
from biofeed.protocol.schedule import DEMO  # noqa: E402
from biofeed.session import Session  # noqa: E402
from biofeed.sim.physiology import SimConfig  # noqa: E402


def main(seconds: float) -> None:
    app = QApplication([])
    runner = ProtocolRunner(DEMO)
    config = SimConfig(seed=0, ecg_rate_hz=1000.0, eda_rate_hz=100.0, resp_rate_hz=50.0)
    session = Session([SimulatedSensor(config, runner.state_at)], runner,
                      out_dir=tempfile.mkdtemp(prefix="biofeed-bench-"), duration=seconds + 5)
    window = MainWindow(session)
    window.resize(1500, 950)
    window.show()
    future = window.start()
    loop = QEventLoop()
    QTimer.singleShot(2000, loop.quit)                  # warm-up: buffers fill, plots settle
    loop.exec()
    frames0, t0 = window.frames, time.perf_counter()
    session.live.lags_s.clear()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    fps = (window.frames - frames0) / (time.perf_counter() - t0)
    lags = np.array(session.live.lags_s) * 1000.0
    window.close()
    future.result(timeout=30)
    print(f"frames per second: {fps:.1f} (target >= 30) over {seconds:g} s, window 1500x950 offscreen")
    print(f"chunk lag ms: median {np.median(lags):.1f}, p99 {np.percentile(lags, 99):.1f}, "
          f"max {lags.max():.1f} (target < 100) over {len(lags)} raw chunks")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)
