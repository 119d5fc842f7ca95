"""Clinician controls typed at the terminal during a headless run.

One command a line (Enter sends it):

==========  ===========================================================
``0``-``10``  a rating for the running rating phase (any number on its scale)
``b=7``       a per-person rating (a dyad): participant ``b`` rates 7
``p``         pause            ``r``  resume
``s [note]``  skip the phase   ``a [note]``  abort to recovery
``m note``    clinician marker with a note
==========  ===========================================================

A thread reads the lines and calls the runner's thread-safe controls; a mistyped line gets a
one-line answer and is otherwise ignored.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO

from .runner import ProtocolRunner

HELP = ("type a rating (e.g. 4; per person in a dyad LABEL=V, e.g. b=7), p pause, r resume, "
        "s skip, a abort to recovery, m NOTE marker")


def handle(runner: ProtocolRunner, line: str) -> str:
    """Apply one typed command; returns what was done (or why not), for the terminal."""
    cmd, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    try:
        if not cmd:
            return ""
        if cmd == "p":
            runner.pause(rest)
        elif cmd == "r":
            runner.resume()
        elif cmd == "s":
            runner.skip(rest)
        elif cmd == "a":
            runner.abort(rest)
        elif cmd == "m":
            if not rest:
                return "a marker needs a note: m NOTE"
            runner.marker(rest)
        else:
            who, sep, number = cmd.partition("=")
            try:
                value = float(number if sep else cmd)
            except ValueError:
                return f"unknown command {cmd!r}; {HELP}"
            runner.rate(value, source="terminal", participant=who if sep else None)
    except (ValueError, RuntimeError) as exc:
        return str(exc)
    return f"ok: {line.strip()}"


def start_reader(runner: ProtocolRunner, stream: TextIO, say: Callable[[str], None]) -> threading.Thread:
    """Read commands from ``stream`` on a daemon thread until it closes."""
    def work() -> None:
        for line in stream:
            answer = handle(runner, line)
            if answer:
                say(answer)

    thread = threading.Thread(target=work, name="biofeed-terminal-controls", daemon=True)
    thread.start()
    return thread
