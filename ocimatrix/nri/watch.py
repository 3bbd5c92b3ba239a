"""``python -m ocimatrix.nri.watch SOCKET``: the harness's NRI plugin on its own, for a failing cell's repro.

It connects to a runtime's NRI socket, prints each lifecycle event it is sent as a JSON line, and runs
until interrupted. ``--hold KIND=SECONDS`` keeps the first such event's hook waiting that long (the
runtime's call waits with it); ``--fail-once KIND`` answers the first such event with an error.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from ocimatrix.nri.plugin import CONTAINER_EVENTS, POD_EVENTS, Hold, NriPlugin, NriUnavailable

KINDS = POD_EVENTS + CONTAINER_EVENTS


def _hold_spec(text: str) -> tuple[str, float]:
    kind, _, seconds = text.partition("=")
    if kind not in KINDS or not seconds.replace(".", "", 1).isdigit():
        raise argparse.ArgumentTypeError(f"--hold {text!r}: expected KIND=SECONDS, KIND one of {', '.join(KINDS)}")
    return kind, float(seconds)


def _kind(text: str) -> str:
    if text not in KINDS:
        raise argparse.ArgumentTypeError(f"{text!r}: one of {', '.join(KINDS)}")
    return text


def _release_after(hold: Hold, seconds: float, stop: threading.Event) -> None:
    while not hold.reached.wait(0.2):
        if stop.is_set():
            return
    stop.wait(seconds)
    hold.release()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocimatrix.nri.watch", description=__doc__.splitlines()[0])
    parser.add_argument("socket", type=Path, help="the runtime's NRI socket")
    parser.add_argument("--name", default="ocimatrix-watch", help="the plugin's name")
    parser.add_argument("--index", default="00", help="the plugin's index, two digits")
    parser.add_argument("--hold", type=_hold_spec, action="append", default=[], metavar="KIND=SECONDS")
    parser.add_argument("--fail-once", type=_kind, action="append", default=[], metavar="KIND")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    plugin = NriPlugin(args.socket, args.name, args.index, hold_timeout=max([60.0] + [s for _, s in args.hold]))
    releasers = [
        threading.Thread(target=_release_after, args=(plugin.hold(kind, lambda _e: True), seconds, stop), daemon=True)
        for kind, seconds in args.hold
    ]
    for kind in args.fail_once:
        plugin.fail_once(kind, lambda _e: True)
    try:
        plugin.connect(timeout=15)
    except NriUnavailable as exc:
        print(f"ocimatrix.nri.watch: {exc}", file=sys.stderr)
        plugin.close()
        return 1
    print(json.dumps({"connected": plugin.runtime, "plugin": f"{args.index}-{args.name}"}), flush=True)
    for releaser in releasers:
        releaser.start()
    shown = 0
    try:
        while not stop.wait(0.2) and not plugin.closed_why:
            events = plugin.received()
            for event in events[shown:]:
                print(json.dumps(event.evidence()), flush=True)
            shown = len(events)
    finally:
        plugin.close()
    if plugin.closed_why and not stop.is_set():
        print(f"ocimatrix.nri.watch: {plugin.closed_why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
