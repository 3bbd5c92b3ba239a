"""The filesystem-defaults probe's output read back, and the page that sets engines side by side, on
answers recorded from real runs (docker 20.10 with runc, podman 4.3 with runsc, ctr 1.6 with runc)."""

from __future__ import annotations

import json

from ocimatrix.images import probe_images
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.images.pause import BuiltImage
from ocimatrix.report.fs_defaults import PAGE, columns_of, link_fs_defaults, mount_shown, rows_of
from ocimatrix.results import Record, Results, Run

DOCKER = """\
path|/|directory:0:0:755
path|/run|missing
path|/etc/hosts|regular file:0:0:644
path|/etc/hostname|regular file:0:0:644
path|/etc/resolv.conf|regular file:0:0:644
path|/dev/shm|directory:0:0:1777
mount|overlay / overlay rw,relatime,lowerdir=/var/lib/docker/overlay2/l/X:/var/lib/docker/overlay2/l/Y 0 0
mount|/dev/sda1 /etc/resolv.conf ext4 rw,relatime 0 0
mount|/dev/sda1 /etc/hostname ext4 rw,relatime 0 0
mount|/dev/sda1 /etc/hosts ext4 rw,relatime 0 0
mount|shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0
"""
PODMAN_RUNSC = """\
path|/|directory:0:0:555
path|/run|directory:0:0:755
path|/etc/hosts|regular file:0:0:644
path|/etc/hostname|regular file:0:0:644
path|/etc/resolv.conf|missing
path|/dev/shm|directory:0:0:1777
mount|none / 9p rw,trans=fd,rfdno=4,wfdno=4,aname=/,dfltuid=4294967294,dfltgid=4294967294 0 0
mount|none /dev/shm 9p rw,noexec,trans=fd,rfdno=6,wfdno=6,aname=/ 0 0
"""
CTR = """\
path|/|directory:0:0:755
path|/run|directory:0:0:755
path|/etc/hosts|missing
path|/etc/hostname|missing
path|/etc/resolv.conf|missing
path|/dev/shm|directory:0:0:1777
mount|shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0
"""


def test_the_probe_output_is_read_back_path_by_path():
    view = probe_images.parse_defaults(DOCKER)
    assert set(view.paths) == set(probe_images.DEFAULT_PATHS)
    assert view.paths["/run"] == "missing" and view.paths["/dev/shm"] == "directory:0:0:1777"
    assert view.mount_options("/dev/shm") == {
        "source": "shm",
        "type": "tmpfs",
        "options": "rw,nosuid,nodev,noexec,relatime,size=65536k",
    }
    assert view.mount_options("/run") == {}


def test_a_path_mounted_twice_shows_its_last_mount():
    view = probe_images.parse_defaults("mount|a /run ext4 ro 0 0\nmount|b /run tmpfs rw 0 0\n")
    assert view.mount_options("/run")["type"] == "tmpfs"


def test_the_probe_script_asks_for_every_path_the_parser_expects():
    loop = next(line for line in probe_images.DEFAULTS_SCRIPT.splitlines() if line.startswith("for p in"))
    assert tuple(loop.removeprefix("for p in").removesuffix("; do").split()) == probe_images.DEFAULT_PATHS
    case = next(line for line in probe_images.DEFAULTS_SCRIPT.splitlines() if ") echo" in line)
    assert tuple(case.strip().partition(")")[0].split("|")) == probe_images.DEFAULT_PATHS


def test_mounts_show_their_type_and_options_without_host_paths():
    line = "overlay / overlay rw,relatime,lowerdir=/var/lib/x,upperdir=/var/lib/y 0 0"
    assert mount_shown(line) == "overlay rw,relatime"
    assert mount_shown("tmpfs /run tmpfs rw,nosuid,size=65536k,mode=755 0 0") == "tmpfs rw,nosuid,size=65536k,mode=755"
    assert mount_shown("") == ""


def record(engine: str, runtime: str, stdout: str) -> Record:
    view = probe_images.parse_defaults(stdout)
    facts = {"engine": engine, "runtime": runtime, "paths": view.paths, "mounts": view.mounts}
    return Record(
        f"suites/lifecycle/test_fs_defaults.py::test_filesystem_defaults[{engine}-{runtime}]",
        "lifecycle",
        "passed",
        {"engine": engine, "runtime": runtime},
        evidence={"fs_defaults": facts},
    )


def test_page_sets_engines_side_by_side_and_names_where_a_spec_speaks(tmp_path):
    records = [
        record("docker", "runc", DOCKER),
        record("podman", "runsc", PODMAN_RUNSC),
        record("containerd", "runc", CTR),
    ]
    results = Results(Run(), records)
    rows = dict(rows_of(columns_of(results)))
    assert rows["owner and mode /"] == ["directory:0:0:755", "directory:0:0:755", "directory:0:0:555"]
    assert rows["mount /dev/shm"] == [
        "tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k",
        "tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k",
        "9p rw,noexec",
    ]
    page = link_fs_defaults("<main></main>", results, tmp_path)
    assert f'href="{PAGE}"' in page
    html = (tmp_path / PAGE).read_text()
    assert "≠ differs" in html and "podman / runsc" in html
    assert "/dev/shm SHOULD be a tmpfs" in html and "config-linux.md#default-filesystems" in html
    assert "lowerdir" not in html
    assert link_fs_defaults("<main></main>", Results(Run(), []), tmp_path / "none") == "<main></main>"


def test_store_probe_index_lists_each_platform_with_its_manifest():
    # Stand-ins for the images (no foreign busybox needed): the index reads only their manifests.
    images = {
        p: BuiltImage(json.dumps({"architecture": p.split("/")[1]}).encode(), b"", p.encode(), "")
        for p in ("linux/amd64", "linux/arm64/v8")
    }
    document = json.loads(probe_images.index_document(images))
    assert document["mediaType"] == "application/vnd.oci.image.index.v1+json"
    listed = {
        "/".join(m["platform"].get(k, "") for k in ("os", "architecture", "variant")): m for m in document["manifests"]
    }
    assert listed["linux/amd64/"]["digest"] == images["linux/amd64"].manifest_digest
    assert listed["linux/arm64/v8"]["size"] == len(b"linux/arm64/v8")


def test_store_probe_prints_its_machine_and_marker():
    image = probe_images.store_image(host_platform_name(), "older")
    config = json.loads(image.config)["config"]
    assert config["Entrypoint"][-1] == probe_images.STORE_SCRIPT
    assert "machine=$(uname -m)" in probe_images.STORE_SCRIPT and "marker=$(cat /marker)" in probe_images.STORE_SCRIPT
