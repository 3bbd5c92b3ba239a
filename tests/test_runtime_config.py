"""The runtime suite's config.json builder: what it writes, checked against the config schema."""

from __future__ import annotations

import json

import pytest

from ocimatrix.errors import HarnessError
from ocimatrix.runtime.bundle import write_bundle
from ocimatrix.runtime.config import Device, Hook, Mount, Namespace, Process, Rlimit, RuntimeConfig
from ocimatrix.runtime.documents import problems


def minimal(**overrides) -> RuntimeConfig:
    return RuntimeConfig(Process(["sh", "-c", "true"]), root_path="/srv/rootfs", **overrides)


def test_minimal_config_is_valid_and_isolated():
    doc = minimal().to_json()
    assert problems("config", doc) == []
    assert doc["root"] == {"path": "/srv/rootfs", "readonly": True}
    assert doc["process"]["terminal"] is False
    kinds = [ns["type"] for ns in doc["linux"]["namespaces"]]
    assert "network" in kinds, "every container gets its own (empty) network namespace"
    assert [m["destination"] for m in doc["mounts"]][:2] == ["/proc", "/dev"]


def test_unset_optional_properties_are_left_out():
    doc = minimal(hostname=None).to_json()
    for absent in ("hostname", "domainname", "hooks", "annotations"):
        assert absent not in doc
    for absent in ("maskedPaths", "readonlyPaths", "sysctl", "resources", "devices", "seccomp", "cgroupsPath"):
        assert absent not in doc["linux"]
    assert "rlimits" not in doc["process"] and "oomScoreAdj" not in doc["process"]


def test_every_field_the_suite_sets_is_spelled_as_the_spec_says():
    process = Process(
        ["sh"],
        env=["A=b"],
        cwd="/srv",
        uid=1000,
        gid=1000,
        additional_gids=[1001],
        umask=0o027,
        capabilities={"bounding": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
        rlimits=[Rlimit("RLIMIT_NOFILE", 10, 20)],
        no_new_privileges=True,
        oom_score_adj=500,
    )
    config = minimal(
        domainname="example",
        hooks={"poststop": [Hook("/bin/busybox", ["busybox", "true"], ["X=1"], timeout=5)]},
        annotations={"org.example": "v"},
        masked_paths=["/etc/secret"],
        readonly_paths=["/proc/sys"],
        sysctl={"net.ipv4.ip_forward": "1"},
        resources={"pids": {"limit": 10}},
        seccomp={"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]},
        devices=[Device("/dev/x", "c", 1, 5, file_mode=0o640)],
        cgroups_path="/ocimatrix/x",
    )
    config.process = process
    config.set_namespace("uts", "/proc/1/ns/uts")
    doc = config.to_json()
    assert problems("config", doc) == []
    user = doc["process"]["user"]
    assert user == {"uid": 1000, "gid": 1000, "additionalGids": [1001], "umask": 0o027}
    assert doc["process"]["noNewPrivileges"] is True and doc["process"]["oomScoreAdj"] == 500
    assert doc["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert doc["hooks"]["poststop"] == [
        {"path": "/bin/busybox", "args": ["busybox", "true"], "env": ["X=1"], "timeout": 5}
    ]
    linux = doc["linux"]
    assert linux["devices"] == [
        {"path": "/dev/x", "type": "c", "major": 1, "minor": 5, "fileMode": 0o640, "uid": 0, "gid": 0}
    ]
    assert {"type": "uts", "path": "/proc/1/ns/uts"} in linux["namespaces"]
    assert [ns["type"] for ns in linux["namespaces"]].count("uts") == 1
    assert linux["cgroupsPath"] == "/ocimatrix/x"


def test_unknown_hook_kind_is_refused():
    with pytest.raises(ValueError, match="poststartt"):
        minimal(hooks={"poststartt": [Hook("/bin/true")]}).to_json()


def test_mount_helpers():
    assert Mount.bind("/a", "/b", readonly=True).to_json() == {
        "destination": "/b",
        "type": "bind",
        "source": "/a",
        "options": ["rbind", "ro"],
    }
    assert Mount("/x").to_json() == {"destination": "/x"}
    assert Namespace("ipc").to_json() == {"type": "ipc"}


def test_config_schema_catches_what_the_spec_forbids():
    doc = minimal().to_json()
    doc["mounts"].append({"destination": "relative/path"})
    doc["process"]["user"]["uid"] = -1
    doc["ociVersion"] = "1.0"
    found = problems("config", doc)
    assert any(p.startswith("/mounts/7/destination") for p in found)
    assert any(p.startswith("/process/user/uid") for p in found)
    assert any(p.startswith("/ociVersion") for p in found)


def test_write_bundle(tmp_path):
    bundle = write_bundle(tmp_path / "b", minimal())
    assert json.loads(bundle.config_path.read_text()) == bundle.config


def test_write_bundle_into_an_existing_dir_is_a_harness_error(tmp_path):
    (tmp_path / "b").mkdir()
    with pytest.raises(HarnessError, match="could not write the bundle"):
        write_bundle(tmp_path / "b", minimal())


def test_write_rootfs(tmp_path):
    from ocimatrix.runtime.bundle import MOUNT_POINTS, write_rootfs

    busybox = tmp_path / "fake-busybox"
    busybox.write_text("#!/bin/sh\necho sh ls busybox\n")
    busybox.chmod(0o755)
    rootfs = write_rootfs(tmp_path / "rootfs", busybox)
    assert rootfs.applets == ("sh", "ls", "busybox")
    assert (rootfs.path / "bin" / "sh").readlink().as_posix() == "busybox", "applet links stay inside the rootfs"
    assert all((rootfs.path / point).is_dir() for point in MOUNT_POINTS)
    assert "probe:x:1000:1000" in (rootfs.path / "etc" / "passwd").read_text()
    assert (rootfs.path / "tmp").stat().st_mode & 0o7777 == 0o1777


def test_write_rootfs_without_a_working_busybox_is_a_harness_error(tmp_path):
    from ocimatrix.runtime.bundle import write_rootfs

    with pytest.raises(HarnessError, match="busybox rootfs"):
        write_rootfs(tmp_path / "rootfs", tmp_path / "missing-busybox")
