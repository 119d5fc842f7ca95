"""A small valid protocol file that the malformed-file tests break one key at a time."""
from __future__ import annotations

import pytest

VALID = '''
name = "mini"
version = "1"
description = "test protocol"
intended_use = "tests"
references = ["Laborde 2017"]
safety_notes = ["stop at any time"]

[[stop_rules]]
kind = "rating"
threshold = 8

[[stop_rules]]
kind = "arousal"
threshold = 6.0
for_s = 30

[[phases]]
label = "baseline"
kind = "baseline"
duration_s = 60

[[phases]]
block = "b"

[[phases]]
label = "recovery"
kind = "recovery"
duration_s = 60

[[phases]]
label = "paced"
kind = "paced_breathing"
duration_s = 60
text = "breathe"
[phases.pacer]
rate_bpm = 6.0
ratio = "4:6"

[blocks.b]
order = "random"
repetitions = 1

[[blocks.b.items]]
label = "p1"
kind = "prompt"
stressor = true
duration_s = 30
text = "recall one"

[[blocks.b.items]]
label = "p2"
kind = "prompt"
stressor = true
duration_s = 30
text = "recall two"

[[blocks.b.items]]
label = "p3"
kind = "prompt"
duration_s = 30
text = "recall comfort"

[[blocks.b.after_each]]
label = "suds"
kind = "rating"
duration_s = 10
[blocks.b.after_each.rating]
scale = "SUDS"
question = "How distressed?"
'''


@pytest.fixture
def valid_text() -> str:
    return VALID
