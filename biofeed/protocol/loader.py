"""Protocol files (TOML): reading, validation with one-line errors, and block expansion.

The format is documented key by key in ``protocols/README.md``. Every error names the file,
the key path (``phases[3].pacer.rate_bpm``, indices counted from 0), what is wrong and what is
allowed, on one line, so a clinician can fix a file before anyone sits down.

Randomised blocks (counterbalancing) are ordered by a seed; the expanded :class:`Protocol`
carries that seed, and the same seed always gives the same order.

Limits (so that no file can exhaust the machine; all checked before anything is expanded, each
with the usual one-line error): a file of at most :data:`MAX_FILE_BYTES`, tables and arrays
nested at most :data:`MAX_DEPTH` levels (keys of at most :data:`MAX_DEPTH` dotted parts),
finite numbers only, phases of at most :data:`MAX_TOTAL_S` seconds, at most
:data:`MAX_REPETITIONS` repetitions of a block, and after expansion at most :data:`MAX_PHASES`
phases and :data:`MAX_TOTAL_S` seconds in total, both computed arithmetically from the
blocks, their repetitions and the stepped pacers (``repetitions = 1000000000`` fails at once).
Blocks hold phases only (a block cannot use a block), so block references cannot nest or
form cycles.
"""
from __future__ import annotations

import math
import random
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .schedule import (
    INHALE_RANGE,
    MAX_HOLD_SHARE,
    PHASE_KINDS,
    RATE_RANGE_BPM,
    STOP_RULE_KINDS,
    Pacer,
    Phase,
    Protocol,
    Rating,
    StopRule,
)

#: Phase kinds whose participant-facing ``text`` is required.
TEXT_REQUIRED = frozenset({"instruction", "prompt", "paced_breathing"})
#: Phase kinds that need a pacer.
PACER_REQUIRED = frozenset({"paced_breathing"})

_TOP_KEYS = {"name": "a string", "version": "a string", "description": "a string",
             "intended_use": "a string", "references": "a list of strings",
             "safety_notes": "a list of strings", "stop_rules": "an array of tables",
             "participants": "1 or 2",
             "phases": "an array of tables", "blocks": "a table of tables"}
_REQUIRED_TOP = ("name", "version", "description", "intended_use", "references",
                 "safety_notes", "phases")
_PHASE_KEYS = ("label", "kind", "duration_s", "text", "notes", "stressor", "prompt_id", "pacer",
               "rating")
_PACER_KEYS = ("rate_bpm", "steps_bpm", "ratio", "hold_in_s", "hold_out_s", "step_rest_s",
               "step_rest_text")
_RATING_KEYS = ("scale", "question", "min", "max", "per_person")
_RULE_KEYS = ("kind", "threshold", "for_s")
_BLOCK_KEYS = ("order", "repetitions", "items", "after_each")
_BLOCK_ORDERS = ("fixed", "random")
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")

#: Longest protocol file, bytes (the built-in files are 1-6 kB; the TOML parser needs about
#: 1 s per 200 kB of the densest input, so this bounds the parse to about a second).
MAX_FILE_BYTES = 256 * 1024
#: Deepest nesting of tables and arrays (the format needs 7: blocks.NAME.items[i].pacer.steps_bpm[j]).
MAX_DEPTH = 8
#: Most repetitions of one block.
MAX_REPETITIONS = 1000
#: Most phases of the expanded protocol (blocks x repetitions, stepped pacers, rests).
MAX_PHASES = 10_000
#: Longest expanded protocol (and so longest phase), seconds: 24 h.
MAX_TOTAL_S = 24 * 3600.0
#: A key of more than this many dotted parts (``a.b.c...``), anywhere in the text, is refused
#: before parsing: the TOML parser's cost grows with the square of a key's length.
_LONG_KEY = re.compile(r"""(?<![A-Za-z0-9_-])(?:(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')[ \t]*\.[ \t]*){%d,}"""
                       % (2 * MAX_DEPTH))


class ProtocolError(ValueError):
    """A protocol file is unreadable or invalid; the message is one line."""


class _Checker:
    """Typed access to a parsed TOML document that reports errors with the file and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, problem: str, allowed: str = "") -> ProtocolError:
        return ProtocolError(f"{self.file}: {path}: {problem}" + (f"; {allowed}" if allowed else ""))

    def keys(self, table: Any, path: str, allowed: tuple[str, ...] | dict) -> dict:
        if not isinstance(table, dict):
            raise self.fail(path, f"expected a table, got {_kind(table)}")
        for key in table:
            if key not in allowed:
                raise self.fail(_join(path, key), "unknown key",
                                f"allowed keys here: {', '.join(sorted(allowed))}")
        return table

    def get(self, table: dict, path: str, key: str, kind: str, default: Any = ...) -> Any:
        """``table[key]`` checked to be ``kind`` (str, number, int, bool, strings, list, table)."""
        where = _join(path, key)
        if key not in table:
            if default is ...:
                raise self.fail(where, "missing", f"required: {_KIND_TEXT[kind]}")
            return default
        value = table[key]
        ok = {"str": lambda v: isinstance(v, str),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool),
              "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
              "numbers": lambda v: isinstance(v, list) and all(
                  isinstance(x, (int, float)) and not isinstance(x, bool) for x in v),
              "list": lambda v: isinstance(v, list),
              "table": lambda v: isinstance(v, dict)}[kind]
        if not ok(value):
            raise self.fail(where, f"expected {_KIND_TEXT[kind]}, got {_kind(value)} {value!r}")
        if kind == "number" and not math.isfinite(value):
            raise self.fail(where, f"expected a finite number, got {value!r}", "allowed: finite numbers only")
        if kind == "numbers":
            for i, x in enumerate(value):
                if not math.isfinite(x):
                    raise self.fail(f"{where}[{i}]", f"expected a finite number, got {x!r}",
                                    "allowed: finite numbers only")
        if kind == "str" and default is ... and not value.strip():
            raise self.fail(where, "is empty", "required: a non-empty string")
        return value

    def positive(self, table: dict, path: str, key: str, default: Any = ...) -> float:
        """Seconds > 0 and at most :data:`MAX_TOTAL_S`."""
        value = self.get(table, path, key, "number", default)
        if value is not None and not 0 < value <= MAX_TOTAL_S:
            raise self.fail(_join(path, key), f"{value!r} is not allowed",
                            f"must be > 0 seconds and at most {MAX_TOTAL_S:.0f} s (24 h)")
        return None if value is None else float(value)

    def non_negative(self, table: dict, path: str, key: str) -> float:
        """Seconds >= 0 (0 by default) and at most :data:`MAX_TOTAL_S`."""
        value = self.get(table, path, key, "number", 0.0)
        if not 0 <= value <= MAX_TOTAL_S:
            raise self.fail(_join(path, key), f"{value!r} is not allowed",
                            f"must be >= 0 seconds and at most {MAX_TOTAL_S:.0f} s (24 h)")
        return float(value)


_KIND_TEXT = {"str": "a string", "number": "a number", "int": "a whole number",
              "bool": "true or false", "strings": "a list of strings",
              "numbers": "a list of numbers", "list": "an array", "table": "a table"}


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a whole number", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass(frozen=True)
class _Block:
    order: str
    repetitions: int
    items: tuple[Phase, ...]
    after_each: tuple[Phase, ...]


@dataclass(frozen=True)
class ProtocolTemplate:
    """A validated protocol file before its blocks are put in order.

    ``entries`` holds phases and block names in file order; :meth:`build` expands them.
    """

    meta: dict
    entries: tuple[Phase | str, ...]
    blocks: dict[str, _Block]
    stop_rules: tuple[StopRule, ...]
    source: str

    @property
    def randomised(self) -> bool:
        """True when some block is ordered at random (so a seed matters)."""
        return any(b.order == "random" for b in self.blocks.values())

    def build(self, seed: int | None = None) -> Protocol:
        """The protocol with blocks expanded; random blocks ordered by ``seed``.

        With randomised blocks and no seed a fresh seed is drawn; it is kept in
        :attr:`Protocol.seed` (and so in the session file) to reproduce the order.
        """
        if self.randomised and seed is None:
            seed = secrets.randbits(31)
        rng = random.Random(seed)
        phases: list[Phase] = []
        for entry in self.entries:
            if isinstance(entry, Phase):
                phases.append(entry)
                continue
            block = self.blocks[entry]
            for rep in range(1, block.repetitions + 1):
                items = list(block.items)
                if block.order == "random":
                    rng.shuffle(items)
                for item in items:
                    tag = item.label if block.repetitions == 1 else f"{item.label}#{rep}"
                    phases.append(_relabel(item, tag))
                    phases += [_relabel(after, f"{after.label}.{tag}") for after in block.after_each]
        return Protocol(phases=tuple(phases), stop_rules=self.stop_rules,
                        seed=seed if self.randomised else None, source=self.source, **self.meta)


def _relabel(phase: Phase, label: str) -> Phase:
    return Phase(label, phase.kind, phase.duration_s, phase.text, phase.pacer, phase.stressor,
                 phase.notes, phase.rating, phase.prompt_id)


def parse(text: str, file: str) -> ProtocolTemplate:
    """Validate the TOML text of a protocol file (``file`` names it in errors)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise ProtocolError(f"{file}: the file is {size:,} bytes; allowed: at most "
                            f"{MAX_FILE_BYTES:,} bytes (a protocol is a few kB)")
    long_key = _LONG_KEY.search(text)
    if long_key:
        line = text.count("\n", 0, long_key.start()) + 1
        raise ProtocolError(f"{file}: line {line}: a key of more than {2 * MAX_DEPTH} dotted parts "
                            f"({long_key.group()[:40]!r}...); allowed: keys of at most "
                            f"{2 * MAX_DEPTH} dotted parts (the format needs 3, e.g. blocks.NAME.items)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{file}: invalid TOML: {exc}; see protocols/README.md for the format") from None
    except RecursionError:
        raise ProtocolError(f"{file}: invalid TOML: arrays or inline tables nested too deeply; "
                            f"allowed: at most {MAX_DEPTH} levels") from None
    _check_depth(doc, _Checker(file))
    return _Parser(_Checker(file)).document(doc)


def _check_depth(doc: dict, c: _Checker) -> None:
    """Tables and arrays nested at most :data:`MAX_DEPTH` levels (walked without recursion)."""
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise c.fail(path, f"nested more than {MAX_DEPTH} levels deep",
                         f"allowed: tables and arrays nested at most {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, _join(path, str(k)), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))


def read_template(path: str | Path) -> ProtocolTemplate:
    """Read and validate a protocol file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)     # never more: a huge file is refused unread
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read the protocol file: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ProtocolError(f"{path}: the file is larger than {MAX_FILE_BYTES:,} bytes; allowed: at "
                            f"most {MAX_FILE_BYTES:,} bytes (a protocol is a few kB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{path}: not UTF-8 text (byte {exc.start}); allowed: a UTF-8 TOML "
                            "file, see protocols/README.md") from None
    return parse(text, str(path))


@dataclass(frozen=True)
class _RuleContext:
    """What stop rules are checked against: the rating scales' range (None without ratings),
    whether a stressor exists and a recovery phase follows the last one."""

    scale: tuple[int, int] | None
    stressor: bool
    recovery_after: bool


class _Parser:
    def __init__(self, check: _Checker) -> None:
        self.c = check

    def document(self, doc: dict) -> ProtocolTemplate:
        c = self.c
        c.keys(doc, "", _TOP_KEYS)
        meta = {"name": c.get(doc, "", "name", "str"), "version": c.get(doc, "", "version", "str"),
                "description": c.get(doc, "", "description", "str"),
                "intended_use": c.get(doc, "", "intended_use", "str")}
        people = c.get(doc, "", "participants", "int", 1)
        if people not in (1, 2):
            raise c.fail("participants", f"{people!r} is not allowed",
                         "allowed: 1 (one participant) or 2 (a dyad: two labelled devices)")
        meta["participants"] = people
        for key in ("references", "safety_notes"):
            values = c.get(doc, "", key, "strings")
            if not values or not all(v.strip() for v in values):
                raise c.fail(key, "is empty or has an empty entry", "required: at least one non-empty string")
            meta[key] = tuple(values)
        blocks_doc = c.get(doc, "", "blocks", "table", {})
        blocks = {name: self.block(body, f"blocks.{name}") for name, body in blocks_doc.items()}
        raw_phases = c.get(doc, "", "phases", "list")
        if not raw_phases:
            raise c.fail("phases", "is empty", "required: at least one phase")
        entries: list[Phase | str] = []
        used: set[str] = set()
        phases_n, total_s = 0, 0.0        # of the expanded protocol, counted before expanding
        for i, raw in enumerate(raw_phases):
            path = f"phases[{i}]"
            if isinstance(raw, dict) and "block" in raw:
                c.keys(raw, path, ("block",))
                name = c.get(raw, path, "block", "str")
                if name not in blocks:
                    raise c.fail(f"{path}.block", f"no block named {name!r}",
                                 f"defined blocks: {', '.join(sorted(blocks)) or 'none'}")
                if name in used:
                    raise c.fail(f"{path}.block", f"block {name!r} is used twice",
                                 "use repetitions inside the block instead")
                used.add(name)
                entries.append(name)
                block = blocks[name]
                per_item_s = sum(p.duration_s for p in block.after_each)
                phases_n += block.repetitions * len(block.items) * (1 + len(block.after_each))
                total_s += block.repetitions * (sum(p.duration_s for p in block.items)
                                                + len(block.items) * per_item_s)
                blame = f"blocks.{name}" + (".repetitions" if block.repetitions > 1 else "")
            else:
                parsed = self.phase(raw, path)
                entries.extend(parsed)
                phases_n += len(parsed)
                total_s += sum(p.duration_s for p in parsed)
                blame = path
            self.check_size(phases_n, total_s, blame)
        unused = sorted(set(blocks) - used)
        if unused:
            raise c.fail(f"blocks.{unused[0]}", "is defined but never used",
                         "reference it from phases as { block = \"" + unused[0] + "\" }")
        expanded = ProtocolTemplate(meta, tuple(entries), blocks, (), c.file).build(0)   # once
        raw_rules = c.get(doc, "", "stop_rules", "list", [])
        rules = ()
        if raw_rules:   # what every rule checks against, computed once
            phases = expanded.phases
            scales = [p.rating for p in phases if p.rating is not None]
            stressors = [i for i, p in enumerate(phases) if p.stressor]
            context = _RuleContext(
                (min(s.min for s in scales), max(s.max for s in scales)) if scales else None,
                bool(stressors),
                bool(stressors) and any(p.kind == "recovery" for p in phases[stressors[-1] + 1:]))
            rules = tuple(self.stop_rule(raw, f"stop_rules[{i}]", context)
                          for i, raw in enumerate(raw_rules))
        self.check_labels(expanded)
        return ProtocolTemplate(meta, tuple(entries), blocks, rules, c.file)

    def check_size(self, phases_n: int, total_s: float, blame: str) -> None:
        """The expanded protocol so far (up to ``blame``) within :data:`MAX_PHASES` phases and
        :data:`MAX_TOTAL_S` seconds."""
        if phases_n > MAX_PHASES:
            raise self.c.fail(blame, f"expands the protocol to {phases_n:,} phases",
                              f"allowed: at most {MAX_PHASES:,} phases after expanding blocks, "
                              "repetitions and stepped pacers")
        if total_s > MAX_TOTAL_S:
            raise self.c.fail(blame, f"makes the expanded protocol {total_s:,.0f} s "
                              f"({total_s / 3600:,.2f} h) long",
                              f"allowed: at most {MAX_TOTAL_S:.0f} s (24 h) in total")

    def block(self, body: Any, path: str) -> _Block:
        c = self.c
        c.keys(body, path, _BLOCK_KEYS)
        order = c.get(body, path, "order", "str", "fixed")
        if order not in _BLOCK_ORDERS:
            raise c.fail(f"{path}.order", f"{order!r} is not an order", f"allowed: {', '.join(_BLOCK_ORDERS)}")
        reps = c.get(body, path, "repetitions", "int", 1)
        if not 1 <= reps <= MAX_REPETITIONS:
            raise c.fail(f"{path}.repetitions", f"{reps!r} is not allowed",
                         f"must be a whole number >= 1 and at most {MAX_REPETITIONS:,}")
        items = c.get(body, path, "items", "list")
        if not items:
            raise c.fail(f"{path}.items", "is empty", "required: at least one phase")
        parsed = [p for i, raw in enumerate(items) for p in self.phase(raw, f"{path}.items[{i}]")]
        after = [p for i, raw in enumerate(c.get(body, path, "after_each", "list", []))
                 for p in self.phase(raw, f"{path}.after_each[{i}]")]
        return _Block(order, reps, tuple(parsed), tuple(after))

    def phase(self, raw: Any, path: str) -> list[Phase]:
        """One phase table; a stepped pacer expands it into a phase per rate (rests between)."""
        c = self.c
        c.keys(raw, path, _PHASE_KEYS)
        label = c.get(raw, path, "label", "str")
        kind = c.get(raw, path, "kind", "str")
        if kind not in PHASE_KINDS:
            raise c.fail(f"{path}.kind", f"unknown phase kind {kind!r}", f"allowed: {', '.join(sorted(PHASE_KINDS))}")
        duration = c.positive(raw, path, "duration_s")
        text = c.get(raw, path, "text", "str", "")
        if kind in TEXT_REQUIRED and not text.strip():
            raise c.fail(f"{path}.text", f"missing participant text for a {kind!r} phase",
                         "required: what the participant is told or shown")
        stressor = c.get(raw, path, "stressor", "bool", False)
        if stressor and kind != "prompt":
            raise c.fail(f"{path}.stressor", f"only a 'prompt' phase can be a stressor, this one is {kind!r}",
                         "allowed: stressor = true on prompt phases")
        notes = c.get(raw, path, "notes", "str", "")
        prompt_id = c.get(raw, path, "prompt_id", "str", "")
        if prompt_id and kind != "prompt":
            raise c.fail(f"{path}.prompt_id", f"a {kind!r} phase has no prompt", "allowed on prompt phases only")
        rating = self.rating(raw, path, kind)
        pacers, rest = self.pacer(raw, path, kind)
        if len(pacers) == 1:
            return [Phase(label, kind, duration, text, pacers[0], stressor, notes, rating,
                          prompt_id or (label if kind == "prompt" else ""))]
        out = []
        for i, pacer in enumerate(pacers):
            step = f"{label} {pacer.rate_bpm:g}/min"
            out.append(Phase(step, kind, duration, text, pacer, stressor, notes, rating, prompt_id))
            if rest is not None and i < len(pacers) - 1:
                out.append(Phase(f"rest after {pacer.rate_bpm:g}/min", "rest", rest[0], rest[1]))
        return out

    def rating(self, raw: dict, path: str, kind: str) -> Rating | None:
        c = self.c
        if kind != "rating":
            if "rating" in raw:
                raise c.fail(f"{path}.rating", f"a {kind!r} phase takes no rating", "allowed on kind = \"rating\" only")
            return None
        body = c.keys(c.get(raw, path, "rating", "table"), f"{path}.rating", _RATING_KEYS)
        rp = f"{path}.rating"
        lo, hi = c.get(body, rp, "min", "int", 0), c.get(body, rp, "max", "int", 10)
        if not lo < hi:
            raise c.fail(f"{rp}.max", f"max ({hi}) is not above min ({lo})", "the scale must run upwards")
        return Rating(c.get(body, rp, "scale", "str"), c.get(body, rp, "question", "str"), lo, hi,
                      c.get(body, rp, "per_person", "bool", False))

    def pacer(self, raw: dict, path: str, kind: str) -> tuple[list[Pacer | None], tuple | None]:
        c = self.c
        if "pacer" not in raw:
            if kind in PACER_REQUIRED:
                raise c.fail(f"{path}.pacer", f"missing for a {kind!r} phase", "required: [pacer] with rate_bpm")
            return [None], None
        pp = f"{path}.pacer"
        body = c.keys(c.get(raw, path, "pacer", "table"), pp, _PACER_KEYS)
        if ("rate_bpm" in body) == ("steps_bpm" in body):
            raise c.fail(pp, "needs exactly one of rate_bpm and steps_bpm", "rate_bpm = 6.0 or steps_bpm = [6.5, 6.0]")
        if "rate_bpm" in body:
            rates, where = [c.get(body, pp, "rate_bpm", "number")], [f"{pp}.rate_bpm"]
        else:
            rates = c.get(body, pp, "steps_bpm", "numbers")
            if len(rates) < 2:
                raise c.fail(f"{pp}.steps_bpm", "needs at least two rates", "for one rate use rate_bpm")
            if len(rates) > MAX_PHASES:
                raise c.fail(f"{pp}.steps_bpm", f"{len(rates):,} rates make as many phases",
                             f"allowed: at most {MAX_PHASES:,} phases after expansion")
            where = [f"{pp}.steps_bpm[{i}]" for i in range(len(rates))]
        for rate, at in zip(rates, where):
            if not RATE_RANGE_BPM[0] <= rate <= RATE_RANGE_BPM[1]:
                raise c.fail(at, f"{rate!r} breaths/min is out of range",
                             f"allowed: {RATE_RANGE_BPM[0]:g}-{RATE_RANGE_BPM[1]:g} breaths/min")
        ratio = c.get(body, pp, "ratio", "str", "4:6")
        m = _RATIO.match(ratio)
        inhale = float(m[1]) / (float(m[1]) + float(m[2])) if m and float(m[1]) + float(m[2]) > 0 else math.nan
        if not INHALE_RANGE[0] <= inhale <= INHALE_RANGE[1]:
            raise c.fail(f"{pp}.ratio", f"impossible inhale:exhale ratio {ratio!r}",
                         "allowed: \"inhale:exhale\" with the inhale share between 1:4 and 4:1, e.g. \"4:6\" or \"1:1\"")
        hold_in, hold_out = c.non_negative(body, pp, "hold_in_s"), c.non_negative(body, pp, "hold_out_s")
        for rate, at in zip(rates, where):
            if hold_in + hold_out > MAX_HOLD_SHARE * 60.0 / rate:
                raise c.fail(f"{pp}.hold_in_s", f"holds of {hold_in + hold_out:g} s do not fit a "
                             f"{60.0 / rate:g} s breath at {rate:g}/min",
                             f"allowed: holds up to {MAX_HOLD_SHARE:.0%} of the cycle")
        rest = None
        if "steps_bpm" in body:
            rest_s = c.non_negative(body, pp, "step_rest_s")
            rest = (rest_s, c.get(body, pp, "step_rest_text", "str", "")) if rest_s > 0 else None
        elif "step_rest_s" in body or "step_rest_text" in body:
            raise c.fail(f"{pp}.step_rest_s", "only applies to steps_bpm", "remove it or use steps_bpm")
        return [Pacer(float(r), inhale, hold_in, hold_out) for r in rates], rest

    def stop_rule(self, raw: Any, path: str, context: "_RuleContext") -> StopRule:
        c = self.c
        c.keys(raw, path, _RULE_KEYS)
        kind = c.get(raw, path, "kind", "str")
        if kind not in STOP_RULE_KINDS:
            raise c.fail(f"{path}.kind", f"unknown stop rule kind {kind!r}", f"allowed: {', '.join(sorted(STOP_RULE_KINDS))}")
        threshold = float(c.get(raw, path, "threshold", "number"))
        if kind == "rating":
            if "for_s" in raw:
                raise c.fail(f"{path}.for_s", "applies to arousal rules only", "remove it")
            if context.scale is None:
                raise c.fail(path, "a rating stop rule needs a rating phase", "add a phase with kind = \"rating\"")
            lo, hi = context.scale
            if not lo <= threshold <= hi:
                raise c.fail(f"{path}.threshold", f"{threshold:g} is off the rating scale", f"allowed: {lo}-{hi}")
            rule = StopRule(kind, threshold)
        else:
            rule = StopRule(kind, threshold, c.positive(raw, path, "for_s"))
        if not context.stressor:
            raise c.fail(path, "the protocol has no stressor phase to stop", "mark prompts with stressor = true")
        if not context.recovery_after:
            raise c.fail(path, "no recovery phase follows the last stressor",
                         "add a phase with kind = \"recovery\" after the stressors")
        return rule

    def check_labels(self, protocol: Protocol) -> None:
        seen: set[str] = set()
        for i, phase in enumerate(protocol.phases):
            if phase.label in seen:
                raise self.c.fail("phases", f"two phases are labelled {phase.label!r} (phase {i} of the "
                                  "expanded run order)", "labels must be unique")
            seen.add(phase.label)
