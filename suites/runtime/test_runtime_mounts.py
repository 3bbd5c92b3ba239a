"""config.md: Root and Mounts; config-linux.md: default filesystems and devices. Seen from inside."""

from __future__ import annotations

import pytest
from runtime_spec import RUNTIME_AXES, spec

from ocimatrix.runtime.config import Device, Mount

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

WRITE_PROBE = "if echo x > {path} 2>/dev/null; then echo writable; rm -f {path}; else echo refused; fi"


def mount_line(ran, destination: str) -> list[str]:
    """The last /proc/self/mounts entry for ``destination``: [source, mountpoint, type, options]."""
    entries = [line.split() for line in ran.lines() if len(line.split()) >= 4 and line.split()[1] == destination]
    if not entries:
        pytest.fail(f"{destination} is not in the container's /proc/self/mounts: {ran.stdout[-1500:]!r}")
    return entries[-1]


@spec("config.md", "root", "Root: readonly true")
def test_readonly_root_refuses_writes(lab):
    ran = lab.run_probe(WRITE_PROBE.format(path="/probe-file"), root_readonly=True)
    assert ran.stdout.strip() == "refused", "root.readonly is true, yet the root filesystem took a write"


@spec("config.md", "root", "Root: readonly false")
def test_writable_root_takes_writes(lab):
    path = f"/probe-{lab.runtime.name}-rw"
    ran = lab.run_probe(WRITE_PROBE.format(path=path), root_readonly=False)
    assert ran.stdout.strip() == "writable", f"root.readonly is false, yet writing {path} failed: {ran.stderr!r}"


@spec("config.md", "mounts", "Mounts: bind mount, read-only")
def test_readonly_bind_mount(lab):
    source = lab.scratch("ro-source")
    (source / "file").write_text("from-the-host\n")
    mounts = [*lab.config("").mounts, Mount.bind(str(source), "/mnt/ro", readonly=True)]
    ran = lab.run_probe("cat /mnt/ro/file; " + WRITE_PROBE.format(path="/mnt/ro/new"), mounts=mounts)
    assert ran.lines() == ["from-the-host", "refused"], f"a read-only bind mount gave {ran.lines()!r}"
    assert not (source / "new").exists(), "a write through a read-only bind mount reached the host"


@spec("config.md", "mounts", "Mounts: bind mount, read-write")
def test_readwrite_bind_mount(lab):
    source = lab.scratch("rw-source")
    mounts = [*lab.config("").mounts, Mount.bind(str(source), "/mnt/rw")]
    lab.run_probe("echo from-the-container > /mnt/rw/out", mounts=mounts)
    written = source / "out"
    assert written.exists() and written.read_text() == "from-the-container\n", (
        "a file written in a read-write bind mount did not reach the host directory"
    )


@spec("config.md", "mounts", "Mounts: tmpfs with options")
def test_tmpfs_mount_with_options(lab):
    mounts = [*lab.config("").mounts, Mount.tmpfs("/mnt/tmpfs", "nosuid", "nodev", "noexec", "size=1m", "mode=0700")]
    ran = lab.run_probe("cat /proc/self/mounts; echo mode=$(stat -c %a /mnt/tmpfs)", mounts=mounts)
    _, _, fstype, options = mount_line(ran, "/mnt/tmpfs")[:4]
    flags = set(options.split(","))
    assert fstype == "tmpfs", f"/mnt/tmpfs is {fstype}"
    assert {"nosuid", "nodev", "noexec"} <= flags, f"/mnt/tmpfs options are {options}"
    assert ran.value("mode") == "700", (
        f"/mnt/tmpfs has mode {ran.value('mode')}, mode=0700 was asked for (the mount point in the rootfs is 0755)"
    )


@spec("config.md", "mounts", "Mounts: mounted in the listed order")
def test_mounts_follow_the_listed_order(lab):
    # The second mount's destination only exists inside the first: listed order is the only order that works.
    mounts = [*lab.config("").mounts, Mount.tmpfs("/mnt/tmpfs", "mode=0755"), Mount.tmpfs("/mnt/tmpfs/inner")]
    ran = lab.run_probe("cat /proc/self/mounts", mounts=mounts, refused="fail")
    points = [line.split()[1] for line in ran.lines() if len(line.split()) > 1]
    assert "/mnt/tmpfs" in points and "/mnt/tmpfs/inner" in points, f"mounts seen: {points}"
    assert points.index("/mnt/tmpfs") < points.index("/mnt/tmpfs/inner"), f"mount order seen: {points}"


@spec("config-linux.md", "default-filesystems", "Default filesystems: proc")
def test_proc_is_the_containers_own(lab):
    ran = lab.run_probe("cat /proc/self/mounts; echo pid=$$; echo cmd=$(tr '\\0' ' ' < /proc/1/cmdline)")
    assert mount_line(ran, "/proc")[2] == "proc"
    assert ran.value("pid") == "1", "in a new pid namespace the container's process is pid 1"
    assert ran.value("cmd").startswith("sh -c"), f"/proc/1 is {ran.value('cmd')!r}, not the container's process"


@spec("config-linux.md", "default-filesystems", "Default filesystems: sysfs (read-only as asked)")
def test_sysfs_mounted_read_only(lab):
    ran = lab.run_probe("cat /proc/self/mounts")
    _, _, fstype, options = mount_line(ran, "/sys")[:4]
    assert fstype == "sysfs" and "ro" in options.split(","), f"/sys is {fstype} ({options}); sysfs ro was asked for"


@spec("config-linux.md", "default-devices", "Default devices")
def test_default_devices(lab):
    wanted = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8", "/dev/urandom": "1:9"}
    wanted["/dev/tty"] = "5:0"
    script = "for d in " + " ".join(wanted) + " /dev/ptmx; do stat -L -c '%n %F %t:%T' $d; done 2>&1"
    ran = lab.run_probe(script)
    seen = {}
    for line in ran.lines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("/dev/"):
            numbers = parts[-1].split(":")
            kind = " ".join(parts[1:-1])
            is_char = kind == "character special file"
            seen[parts[0]] = f"{int(numbers[0], 16)}:{int(numbers[1], 16)}" if is_char else line
    wrong = {dev: seen.get(dev) for dev, numbers in wanted.items() if seen.get(dev) != numbers}
    assert not wrong, f"default devices missing or wrong (want char major:minor): {wrong}; {ran.stdout!r}"
    assert "/dev/ptmx" in seen, f"/dev/ptmx is missing: {ran.stdout!r}"


@spec("config-linux.md", "devices", "Devices: a device node listed in linux.devices")
def test_listed_device_is_created(lab):
    config = lab.config("stat -c '%F %t:%T %a %u:%g' /dev/om-zero && head -c 4 /dev/om-zero | od -An -tx1")
    config.devices = [Device("/dev/om-zero", "c", 1, 5, file_mode=0o640, uid=1000, gid=1000)]
    config.process.uid = config.process.gid = 1000  # the owner reads it, without CAP_DAC_OVERRIDE
    allow = {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
    config.resources = {"devices": [{"allow": False, "access": "rwm"}, allow]}
    ran = lab.run(config, refused="skip")
    lines = ran.lines()
    assert lines and lines[0] == "character special file 1:5 640 1000:1000", (
        f"/dev/om-zero (c 1:5, mode 0640, owner 1000:1000) is {lines[:1]!r}; stderr {ran.stderr!r}"
    )
    assert lines[1:] and lines[1].split() == ["00", "00", "00", "00"], f"reading /dev/om-zero gave {lines[1:]!r}"
