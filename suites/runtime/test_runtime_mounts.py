"""config.md: Root and Mounts; config-linux.md: default filesystems and devices. Seen from inside."""

from __future__ import annotations

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import fail_with
from ocimatrix.runtime.config import Device, Mount
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

WRITE_PROBE = "if echo x > {path} 2>/dev/null; then echo writable; rm -f {path}; else echo refused; fi"


def mount_line(ran, destination: str) -> list[str]:
    """The last /proc/self/mounts entry for ``destination``: [source, mountpoint, type, options, ...]."""
    entries = [line.split() for line in ran.lines() if len(line.split()) >= 4 and line.split()[1] == destination]
    if not entries:
        fail_with(
            f"{destination} is not in the container's /proc/self/mounts: {ran.stdout[-1500:]!r}",
            step=f"/proc/self/mounts entry of {destination}",
            answer=f"no entry; /proc/self/mounts: {ran.seen}",
        )
    return entries[-1]


@spec("runtime-spec/config.md#root", "config: Root: readonly true")
def test_readonly_root_refuses_writes(lab):
    ran = lab.run_probe(WRITE_PROBE.format(path="/probe-file"), root_readonly=True)
    assert ran.stdout.strip() == "refused", "root.readonly is true, yet the root filesystem took a write"


@spec("runtime-spec/config.md#root", "config: Root: readonly false")
def test_writable_root_takes_writes(lab):
    path = f"/probe-{lab.runtime.name}-rw"
    ran = lab.run_probe(WRITE_PROBE.format(path=path), root_readonly=False)
    assert ran.stdout.strip() == "writable", f"root.readonly is false, yet writing {path} failed: {ran.stderr!r}"


@spec("runtime-spec/config.md#mounts", "config: Mounts: bind mount, read-only")
def test_readonly_bind_mount(lab):
    source = lab.scratch("ro-source")
    (source / "file").write_text("from-the-host\n")
    mounts = [*lab.config("").mounts, Mount.bind(str(source), "/mnt/ro", readonly=True)]
    ran = lab.run_probe("cat /mnt/ro/file; " + WRITE_PROBE.format(path="/mnt/ro/new"), mounts=mounts)
    assert ran.lines() == ["from-the-host", "refused"], f"a read-only bind mount gave {ran.lines()!r}"
    assert not (source / "new").exists(), "a write through a read-only bind mount reached the host"


@spec("runtime-spec/config.md#mounts", "config: Mounts: bind mount, read-write")
def test_readwrite_bind_mount(lab):
    source = lab.scratch("rw-source")
    mounts = [*lab.config("").mounts, Mount.bind(str(source), "/mnt/rw")]
    lab.run_probe("echo from-the-container > /mnt/rw/out", mounts=mounts)
    written = source / "out"
    assert written.exists() and written.read_text() == "from-the-container\n", (
        "a file written in a read-write bind mount did not reach the host directory"
    )


@spec("runtime-spec/config.md#mounts", "config: Mounts: tmpfs with options")
def test_tmpfs_mount_with_options(lab):
    mounts = [*lab.config("").mounts, Mount.tmpfs("/mnt/tmpfs", "nosuid", "nodev", "noexec", "size=1m", "mode=0700")]
    ran = lab.run_probe("cat /proc/self/mounts; echo mode=$(stat -c %a /mnt/tmpfs)", mounts=mounts)
    entry = mount_line(ran, "/mnt/tmpfs")
    _, _, fstype, options = entry[:4]
    missing = sorted({"nosuid", "nodev", "noexec"} - set(options.split(",")))
    if fstype != "tmpfs" or missing:
        fail_with(
            f"/mnt/tmpfs is {fstype} with options {options}: {', '.join(missing) or 'tmpfs'} missing",
            step="/proc/self/mounts entry of /mnt/tmpfs",
            answer=" ".join(entry),  # the line as the container's /proc/self/mounts shows it
        )
    mode = ran.value("mode")
    if mode != "700":
        fail_with(
            f"/mnt/tmpfs has mode {mode}, mode=0700 was asked for (the mount point in the rootfs is 0755)",
            step="stat -c %a /mnt/tmpfs in the container",
            answer=f"mode={mode}",
        )


@spec("runtime-spec/config.md#mounts", "config: Mounts: mounted in the listed order")
def test_mounts_follow_the_listed_order(lab):
    # The second mount's destination only exists inside the first: listed order is the only order that works.
    mounts = [*lab.config("").mounts, Mount.tmpfs("/mnt/tmpfs", "mode=0755"), Mount.tmpfs("/mnt/tmpfs/inner")]
    ran = lab.run_probe("cat /proc/self/mounts", mounts=mounts)
    points = [line.split()[1] for line in ran.lines() if len(line.split()) > 1]
    assert "/mnt/tmpfs" in points and "/mnt/tmpfs/inner" in points, f"mounts seen: {points}"
    assert points.index("/mnt/tmpfs") < points.index("/mnt/tmpfs/inner"), f"mount order seen: {points}"


@spec("runtime-spec/config-linux.md#default-filesystems", "config-linux: Default filesystems: proc")
def test_proc_is_the_containers_own(lab):
    ran = lab.run_probe("cat /proc/self/mounts; echo pid=$$; echo cmd=$(tr '\\0' ' ' < /proc/1/cmdline)")
    assert mount_line(ran, "/proc")[2] == "proc"
    assert ran.value("pid") == "1", "in a new pid namespace the container's process is pid 1"
    assert ran.value("cmd").startswith("sh -c"), f"/proc/1 is {ran.value('cmd')!r}, not the container's process"


@spec(
    "runtime-spec/config-linux.md#default-filesystems", "config-linux: Default filesystems: sysfs (read-only as asked)"
)
def test_sysfs_mounted_read_only(lab):
    ran = lab.run_probe("cat /proc/self/mounts")
    _, _, fstype, options = mount_line(ran, "/sys")[:4]
    assert fstype == "sysfs" and "ro" in options.split(","), f"/sys is {fstype} ({options}); sysfs ro was asked for"


@spec("runtime-spec/config-linux.md#default-devices", "config-linux: Default devices")
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


@spec("runtime-spec/config-linux.md#devices", "config-linux: Devices: a device node listed in linux.devices")
def test_listed_device_is_created(lab):
    # Decided before acting: the harness makes no device node without CAP_MKNOD, and the allow list
    # below is written to the devices cgroup.
    lab.needs_host_capability("CAP_MKNOD", "a runtime started by it cannot make device nodes")
    lab.needs_cgroup("devices")
    config = lab.config("stat -c '%F %t:%T %a %u:%g' /dev/om-zero && head -c 4 /dev/om-zero | od -An -tx1")
    config.devices = [Device("/dev/om-zero", "c", 1, 5, file_mode=0o640, uid=1000, gid=1000)]
    config.process.uid = config.process.gid = 1000  # the owner reads it, without CAP_DAC_OVERRIDE
    allow = {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
    config.resources = {"devices": [{"allow": False, "access": "rwm"}, allow]}
    ran = lab.run(config)
    lines = ran.lines()
    wanted = "character special file 1:5 640 1000:1000"
    read = lines[1].split() if len(lines) > 1 else []
    if lines[:1] != [wanted] or read != ["00"] * 4:
        fail_with(
            f"/dev/om-zero (c 1:5, mode 0640, owner 1000:1000) is {lines[:1]!r}, reading it gave {lines[1:]!r}",
            step="stat and read /dev/om-zero in the container",
            answer=ran.seen or "no output",
        )
