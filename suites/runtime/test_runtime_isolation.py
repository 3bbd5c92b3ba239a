"""config.md: hostname, domainname; config-linux.md: namespaces, maskedPaths, readonlyPaths, sysctl."""

from __future__ import annotations

import os

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import fail_with
from ocimatrix.runtime.config import Mount
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

NEW_NAMESPACES = ("pid", "net", "ipc", "uts", "mnt")
LONG_RUNNING = "echo started; while true; do sleep 0.2; done"


@spec("runtime-spec/config.md#hostname", "config: Hostname")
def test_hostname(lab):
    ran = lab.run_probe("hostname; cat /proc/sys/kernel/hostname", hostname="om-host.name")
    assert ran.lines() == ["om-host.name", "om-host.name"], f"hostname om-host.name, the container says {ran.lines()}"


@spec("runtime-spec/config.md#domainname", "config: Domainname")
def test_domainname(lab):
    ran = lab.run_probe("cat /proc/sys/kernel/domainname", domainname="om.example", oci_version="1.1.0")
    with lab.since("1.1.0", "domainname", ignored=ran.stdout.strip() in ("", "(none)")):
        seen = ran.stdout.strip()
        if seen != "om.example":
            fail_with(
                f"domainname om.example, the container says {seen!r}",
                step="cat /proc/sys/kernel/domainname in a container with domainname om.example",
                answer=ran.seen or "no output",
            )


@spec("runtime-spec/config-linux.md#namespaces", "config-linux: Namespaces: new namespaces (no path)")
def test_new_namespaces_differ_from_the_hosts(lab, recorder):
    ran = lab.run_probe("for n in " + " ".join(NEW_NAMESPACES) + "; do echo $n=$(readlink /proc/self/ns/$n); done")
    host = {n: os.readlink(f"/proc/self/ns/{n}") for n in NEW_NAMESPACES}
    inside = {n: ran.value(n) for n in NEW_NAMESPACES}
    recorder.add("namespaces", {"host": host, "container": inside})
    shared = [n for n in NEW_NAMESPACES if inside[n] == host[n]]
    assert not shared, f"the container shares the host's {shared} namespaces although config.json asks for new ones"


@spec(
    "runtime-spec/config-linux.md#network",
    "config-linux: Namespaces: a new network namespace (nothing in it but loopback)",
)
def test_new_network_namespace_is_empty(lab):
    ran = lab.run_probe("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert ran.lines() == ["lo"], f"a new network namespace should hold only lo; the container sees {ran.lines()}"


@spec("runtime-spec/config-linux.md#namespaces", "config-linux: Namespaces: joining a namespace by path")
def test_namespaces_joined_by_path(lab, recorder):
    for kind in ("uts", "ipc"):
        lab.needs_feature(("linux", "namespaces"), kind)
    owner = lab.create(lab.config(LONG_RUNNING, hostname="ns-owner"), role="owner container")
    lab.start(owner)
    lab.wait_for_output(owner, "started")
    pid = lab.state(owner)["pid"]
    owner_ns = {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in ("uts", "ipc")}
    probe = "echo hostname=$(hostname); for n in uts ipc; do echo $n=$(readlink /proc/self/ns/$n); done"
    joiner = lab.config(probe, hostname=None)
    joiner.set_namespace("uts", f"/proc/{pid}/ns/uts")
    joiner.set_namespace("ipc", f"/proc/{pid}/ns/ipc")
    ran = lab.run(joiner)
    recorder.add("namespaces", {"owner": owner_ns, "joiner": {n: ran.value(n) for n in ("uts", "ipc")}})
    hostname = ran.value("hostname")
    if hostname != "ns-owner":
        fail_with(
            f"joined the uts namespace at /proc/{pid}/ns/uts (hostname ns-owner), yet the hostname is {hostname!r}; "
            f"the owner's namespaces are {owner_ns}",
            step="hostname in a container joining the owner's uts namespace by path",
            answer=" ".join(ran.lines()),
        )


@spec("runtime-spec/config-linux.md#masked-paths", "config-linux: Masked paths")
def test_masked_paths_cannot_be_read(lab):
    script = "echo file=$(cat /etc/secret 2>/dev/null); echo dir=$(ls /srv/secret 2>/dev/null)"
    plain = lab.run_probe(script)
    if plain.lines() != ["file=s3cret", "dir=key"]:
        fail_with(
            f"unmasked, the probe saw {plain.lines()}",
            step="read /etc/secret and list /srv/secret, unmasked",
            answer=plain.seen,
        )
    masked = lab.run_probe(script, masked_paths=["/etc/secret", "/srv/secret"])
    if masked.lines() != ["file=", "dir="]:
        fail_with(
            f"/etc/secret and /srv/secret are masked, yet the container reads {masked.lines()}",
            step="read the masked /etc/secret and list the masked /srv/secret",
            answer=" ".join(masked.lines()) or "no output",
        )


@spec("runtime-spec/config-linux.md#readonly-paths", "config-linux: Readonly paths")
def test_readonly_paths_refuse_writes(lab):
    mounts = [*lab.config("").mounts, Mount.tmpfs("/mnt/tmpfs", "mode=0755")]
    probe = "if echo om > /mnt/tmpfs/f 2>/dev/null; then echo writable; else echo refused; fi"
    plain = lab.run_probe(probe, mounts=mounts)
    if plain.stdout.strip() != "writable":
        fail_with(
            "a tmpfs took no write without readonlyPaths", step="write to /mnt/tmpfs, not listed", answer=plain.seen
        )
    ran = lab.run_probe(probe, mounts=list(mounts), readonly_paths=["/mnt/tmpfs"])
    if ran.stdout.strip() != "refused":
        fail_with(
            "/mnt/tmpfs is in readonlyPaths, yet took a write",
            step="write to /mnt/tmpfs, listed in readonlyPaths",
            answer=ran.seen or "no output",
        )


@spec("runtime-spec/config-linux.md#sysctl", "config-linux: Sysctl")
def test_sysctl_is_applied(lab):
    ran = lab.run_probe(
        "echo net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)", sysctl={"net.ipv4.ip_forward": "1"}
    )
    seen = ran.value("net.ipv4.ip_forward")
    if seen != "1":
        fail_with(
            f"sysctl net.ipv4.ip_forward=1, the container reads {seen!r}",
            step="read /proc/sys/net/ipv4/ip_forward in the container (sysctl net.ipv4.ip_forward=1)",
            answer=f"net.ipv4.ip_forward={seen}",
        )
