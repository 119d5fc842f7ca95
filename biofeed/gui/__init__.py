"""The live biofeedback window (PySide6 + pyqtgraph).

The engine runs on a worker thread (:meth:`biofeed.session.Session.start_in_thread`); the
window reads the session's :class:`~biofeed.live.LiveBuffers` on a 30 fps timer and never
blocks acquisition: a slow frame drops frames, never data.
"""
