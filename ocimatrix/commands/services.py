"""``ocimatrix services``: bring the embedded services up and keep them up, to replay a cell by hand.

A cell's repro commands name the sockets and registry of the run that recorded them. With the
services up, ``ocimatrix run --endpoints STATE/endpoints.json -k CELL`` reruns a cell against them
and its repro lines can be pasted into a shell as they are. Ctrl-C stops everything and cleans up.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from ocimatrix.errors import UsageError

HELP = "start the embedded registry, containerd, dockerd and podman storage and keep them up until Ctrl-C"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--for", dest="seconds", type=float, help="stop by itself after this many seconds")
    parser.add_argument(
        "--registry-port",
        type=int,
        default=0,
        help="serve the embedded registry on this 127.0.0.1 port, so a daemon of yours can be told to trust it",
    )


def main(args: argparse.Namespace) -> int:
    from ocimatrix.host.services import EmbeddedServices

    if os.geteuid() != 0:
        raise UsageError("the embedded services mount filesystems and start daemons: run as root")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.registry_port and not 1024 <= args.registry_port <= 65535:
        raise UsageError(f"--registry-port {args.registry_port}: expected a port number from 1024 to 65535")
    services = EmbeddedServices(
        log=lambda m: print(f"ocimatrix services: {m}", flush=True), registry_port=args.registry_port
    )
    try:
        endpoints = services.start()
        for service, error in endpoints.errors.items():
            print(f"ocimatrix services: {service} unavailable: {error}", flush=True)
        state = endpoints.state_dir
        print(f"ocimatrix services: up; endpoints {state}/endpoints.json", flush=True)
        print(f"  rerun a cell:  ocimatrix run --endpoints {state}/endpoints.json -k 'CELL'", flush=True)
        print(f"  docker:        /usr/bin/docker --host {endpoints.docker} ...", flush=True)
        print(f"  ctr:           ctr --address {endpoints.containerd} --namespace ocimatrix ...", flush=True)
        if endpoints.registry:
            print(
                f"  your daemon must trust the plain-HTTP registry {endpoints.registry}: for CRI-O, add to\n"
                f'  /etc/containers/registries.conf: [[registry]] location = "{endpoints.registry}" insecure = true',
                flush=True,
            )
        print("  Ctrl-C stops everything and removes the state directory.", flush=True)
        stop.wait(args.seconds)
    finally:
        services.stop()
        print("ocimatrix services: stopped and cleaned up", flush=True)
    return 0
