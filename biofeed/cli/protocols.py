"""``biofeed protocols list|show NAME|validate FILE``: the protocol library and file checks."""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table


def register(sub) -> None:
    protocols = sub.add_parser("protocols", help="list, show and validate protocols")
    cmds = protocols.add_subparsers(dest="protocols_command", required=True)
    cmds.add_parser("list", help="the built-in protocols").set_defaults(func=cmd_list)
    show = cmds.add_parser("show", help="timeline and total duration of a protocol")
    show.add_argument("protocol", metavar="NAME", help="built-in name or path to a .toml file")
    show.add_argument("--order-seed", type=int, default=0, metavar="N",
                      help="seed that orders randomised blocks in the shown timeline (default 0)")
    show.set_defaults(func=cmd_show)
    validate = cmds.add_parser("validate", help="check protocol files; one line per problem")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=cmd_validate)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    from ..console import text
    from ..protocol.library import library_names, template

    table = Table(title="Built-in protocols", title_justify="left")
    for col in ("name", "version", "duration", "randomised", "description"):
        table.add_column(col)
    for name in library_names():
        t = template(name)
        p = t.build(0)
        table.add_row(text(name), text(p.version), _minutes(p.duration_s),
                      "yes" if t.randomised else "no", text(" ".join(p.description.split())))
    console.print(table)
    return 0


def cmd_show(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from ..console import plain, text
    from ..protocol.library import template

    t = template(args.protocol)
    p = t.build(args.order_seed)
    # everything from the file is plain text: names, labels and texts are never markup
    console.print(f"[bold]{plain(p.name)}[/bold] {plain(p.version)}  ({plain(p.source)})")
    console.print(text(" ".join(p.description.split())))
    console.print(text(f"intended use: {' '.join(p.intended_use.split())}"))
    table = Table(title=f"Timeline{f' (order seed {p.seed})' if t.randomised else ''}",
                  title_justify="left")
    for col in ("#", "onset", "duration", "label", "kind", "pacer", "text / rating"):
        table.add_column(col)
    onset = 0.0
    for i, ph in enumerate(p.phases):
        pacer = "" if ph.pacer is None else f"{ph.pacer.rate_bpm:g}/min"
        what = ph.rating.question if ph.rating else ph.text
        label = text(ph.label) + (Text(" (stressor)", style="red") if ph.stressor else Text())
        table.add_row(str(i), _minutes(onset), _minutes(ph.duration_s), label, text(ph.kind),
                      pacer, text(" ".join(what.split())[:70]))
        onset += ph.duration_s
    console.print(table)
    console.print(f"total duration {_minutes(p.duration_s)} ({p.duration_s:g} s)")
    for rule in p.stop_rules:
        console.print(text(f"stop rule: {rule.kind} >= {rule.threshold:g}"
                           + (f" for {rule.for_s:g} s" if rule.kind == "arousal" else "")
                           + " -> skip to recovery"))
    for note in p.safety_notes:
        console.print(text(f"safety: {note}"))
    for ref in p.references:
        console.print(text(f"reference: {ref}"))
    return 0


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from ..console import plain, text
    from ..protocol.loader import ProtocolError, read_template

    bad = 0
    for path in args.files:
        try:
            p = read_template(path).build(0)
        except ProtocolError as exc:
            bad += 1
            console.print(f"[red]{plain(exc)}[/red]", soft_wrap=True)
        else:
            console.print(text(f"{path}: ok ({p.name} {p.version}, {len(p.phases)} phases, "
                               f"{p.duration_s:g} s)"), soft_wrap=True)
    return 1 if bad else 0
