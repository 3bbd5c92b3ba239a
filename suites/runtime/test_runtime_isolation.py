"""config.md: hostname, domainname; config-linux.md: namespaces, maskedPaths, readonlyPaths, sysctl."""

from __future__ import annotations

import os

import pytest
from runtime_spec import RUNTIME_AXES, spec

from ocimatrix.runtime.config import Mount

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

NEW_NAMESPACES = ("pid", "net", "ipc", "uts", "mnt")


@spec("config.md", "hostname", "Hostname")
def test_hostname(lab):
    ran = lab.run_probe("hostname; cat /proc/sys/kernel/hostname", hostname="om-host.name")
    assert ran.lines() == ["om-host.name", "om-host.name"], f"hostname om-host.name, the container says {ran.lines()}"


@spec("config.md", "domainname", "Domainname")
def test_domainname(lab):
    ran = lab.run_probe("cat /proc/sys/kernel/domainname", domainname="om.example", oci_version="1.1.0")
    with lab.since("1.1.0", "domainname", ignored=ran.stdout.strip() in ("", "(none)")):
        seen = ran.stdout.strip()
        assert seen == "om.example", f"domainname om.example, the container says {seen!r}"


@spec("config-linux.md", "namespaces", "Namespaces: new namespaces (no path)")
def test_new_namespaces_differ_from_the_hosts(lab, recorder):
    ran = lab.run_probe("for n in " + " ".join(NEW_NAMESPACES) + "; do echo $n=$(readlink /proc/self/ns/$n); done")
    host = {n: os.readlink(f"/proc/self/ns/{n}") for n in NEW_NAMESPACES}
    inside = {n: ran.value(n) for n in NEW_NAMESPACES}
    recorder.add("namespaces", {"host": host, "container": inside})
    shared = [n for n in NEW_NAMESPACES if inside[n] == host[n]]
    assert not shared, f"the container shares the host's {shared} namespaces although config.json asks for new ones"


@spec("config-linux.md", "network", "Namespaces: a new network namespace (nothing in it but loopback)")
def test_new_network_namespace_is_empty(lab):
    ran = lab.run_probe("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert ran.lines() == ["lo"], f"a new network namespace should hold only lo; the container sees {ran.lines()}"


@spec("config-linux.md", "namespaces", "Namespaces: joining a namespace by path")
def test_namespaces_joined_by_path(lab, recorder):
    owner = lab.create(lab.config("echo started; while true; do sleep 0.2; done", hostname="ns-owner"))
    lab.start(owner)
    lab.wait_for_output(owner, "started")
    pid = lab.state(owner)["pid"]
    owner_ns = {n: os.readlink(f"/proc/{pid}/ns/{n}") for n in ("uts", "ipc")}
    joiner = lab.config("hostname; for n in uts ipc; do echo $n=$(readlink /proc/self/ns/$n); done", hostname=None)
    joiner.set_namespace("uts", f"/proc/{pid}/ns/uts")
    joiner.set_namespace("ipc", f"/proc/{pid}/ns/ipc")
    ran = lab.run(joiner, refused="skip")
    recorder.add("namespaces", {"owner": owner_ns, "joiner": {n: ran.value(n) for n in ("uts", "ipc")}})
    assert ran.lines()[0] == "ns-owner", (
        f"joined the uts namespace at /proc/{pid}/ns/uts (hostname ns-owner), yet the hostname is {ran.lines()[0]!r}; "
        f"stdout {ran.stdout!r}, stderr {ran.stderr[-300:]!r}"
    )


@spec("config-linux.md", "masked-paths", "Masked paths")
def test_masked_paths_cannot_be_read(lab):
    script = "echo file=$(cat /etc/secret 2>/dev/null); echo dir=$(ls /srv/secret 2>/dev/null)"
    plain = lab.run_probe(script)
    assert plain.value("file") == "s3cret" and plain.value("dir") == "key", f"unmasked, the probe saw {plain.lines()}"
    masked = lab.run_probe(script, masked_paths=["/etc/secret", "/srv/secret"])
    assert masked.value("file") == "", f"/etc/secret is masked, yet reads {masked.value('file')!r}"
    assert masked.value("dir") == "", f"/srv/secret is masked, yet lists {masked.value('dir')!r}"


@spec("config-linux.md", "readonly-paths", "Readonly paths")
def test_readonly_paths_refuse_writes(lab):
    mounts = [*lab.config("").mounts, Mount.tmpfs("/mnt/tmpfs", "mode=0755")]
    probe = "if echo om > /mnt/tmpfs/f 2>/dev/null; then echo writable; else echo refused; fi"
    plain = lab.run_probe(probe, mounts=mounts)
    assert plain.stdout.strip() == "writable", "a tmpfs took no write without readonlyPaths"
    ran = lab.run_probe(probe, mounts=list(mounts), readonly_paths=["/mnt/tmpfs"])
    assert ran.stdout.strip() == "refused", "/mnt/tmpfs is in readonlyPaths, yet took a write"


@spec("config-linux.md", "sysctl", "Sysctl")
def test_sysctl_is_applied(lab):
    ran = lab.run_probe("cat /proc/sys/net/ipv4/ip_forward", sysctl={"net.ipv4.ip_forward": "1"}, refused="skip")
    assert ran.stdout.strip() == "1", f"sysctl net.ipv4.ip_forward=1, the container reads {ran.stdout.strip()!r}"
