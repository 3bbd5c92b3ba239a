"""Engines' recorded config.json (tests/data/runtime/engine-configs/, as the recording shim saved them in a
default run) rebased onto a bundle of the harness's: the engine's ociVersion and every property stay as
written; only what names the engine's own objects is rewritten, and each rewrite is listed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ocimatrix.runtime.config_crossing import HOOK_STANDIN, rebase, relation
from ocimatrix.runtime.documents import problems

RECORDED = sorted((Path(__file__).parent / "data" / "runtime" / "engine-configs").glob("*.json"))
PROBE = ["sh", "-c", "echo ran"]


def rebased(path: Path, container_id: str = "om-x-1"):
    recorded = json.loads(path.read_text())
    return recorded, rebase(recorded, container_id=container_id, rootfs="/h/rootfs", scratch="/h/scratch", probe=PROBE)


def _paths(document) -> list[str]:
    """The engine's own objects left in ``document``: its state directories, a process's /proc entry."""
    text = json.dumps(document)
    return re.findall(r"/var/tmp/ocimatrix-[\w-]+|/proc/\d+|/var/lib/[\w-]+|/run/containerd", text)


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_only_the_engines_own_objects_are_rewritten(path: Path):
    recorded, out = rebased(path)
    config = out.config
    assert config["ociVersion"] == recorded["ociVersion"]
    assert config["root"] == {
        "path": "/h/rootfs",
        **({"readonly": recorded["root"]["readonly"]} if "readonly" in recorded["root"] else {}),
    }
    assert config["process"]["args"] == PROBE
    # What the spec lets an engine choose stays as the engine chose it.
    for kept in ("env", "capabilities", "rlimits", "user", "cwd", "noNewPrivileges", "oomScoreAdj"):
        assert config["process"].get(kept) == recorded["process"].get(kept), kept
    for kept in ("maskedPaths", "readonlyPaths", "seccomp", "resources", "sysctl", "devices"):
        assert config["linux"].get(kept) == recorded["linux"].get(kept), kept
    assert [m["destination"] for m in config["mounts"]] == [m["destination"] for m in recorded["mounts"]]
    assert [m.get("options") for m in config["mounts"]] == [m.get("options") for m in recorded["mounts"]]
    # Nothing of the engine's state is left to reach for, and the rebased document is still a config.
    assert _paths(config) == [], _paths(config)
    assert problems("config", config) == []
    assert recorded["root"]["path"] != "/h/rootfs"  # the input is not changed in place
    assert out.rewrites and all(isinstance(r, str) for r in out.rewrites)


def test_bind_sources_become_empty_files_or_directories_of_the_same_kind():
    kinds = {}
    for path in RECORDED:
        _, out = rebased(path)
        for (standin, kind), mount in zip(
            out.sources, [m for m in out.config["mounts"] if m["source"].startswith("/h/")], strict=True
        ):
            assert mount["source"] == standin and standin.startswith("/h/scratch/")
            kinds[mount["destination"]] = kind
    assert kinds["/etc/hosts"] == kinds["/etc/resolv.conf"] == kinds["/etc/hostname"] == "file"
    assert kinds["/run/.containerenv"] == "file" and kinds["/dev/shm"] == "dir"


def test_hooks_sandbox_namespaces_annotations_and_cgroup_path():
    seen = {path.stem: rebased(path) for path in RECORDED}
    hooked = [(recorded, out) for recorded, out in seen.values() if recorded.get("hooks")]
    assert hooked, "a recorded config with hooks (docker's libnetwork prestart hook)"
    for recorded, out in hooked:
        for kind, listed in recorded["hooks"].items():
            assert [h["path"] for h in out.config["hooks"][kind]] == [HOOK_STANDIN] * len(listed)
    joined = [
        (recorded, out)
        for recorded, out in seen.values()
        if any(n.get("path") for n in recorded["linux"]["namespaces"])
    ]
    assert joined, "a recorded config joining its pod sandbox's namespaces (the CRI's)"
    for recorded, out in joined:
        assert [n["type"] for n in out.config["linux"]["namespaces"]] == [
            n["type"] for n in recorded["linux"]["namespaces"]
        ]
        assert not any("path" in n for n in out.config["linux"]["namespaces"])
        # The annotations that would send a runtime looking for that sandbox go; the others stay.
        dropped = set(recorded["annotations"]) - set(out.config["annotations"])
        assert dropped and all(k.endswith(("container-type", "sandbox-id")) for k in dropped)
        assert any(r.startswith("annotations[") for r in out.rewrites)
    for recorded, out in seen.values():
        assert out.config["linux"]["cgroupsPath"] == "/om-x-1"
        assert out.directories == [recorded["process"]["cwd"]]


def test_a_terminal_is_turned_off_and_a_config_without_process_keeps_none():
    out = rebase(
        {"ociVersion": "1.2.0", "root": {"path": "/x"}, "process": {"terminal": True, "args": ["x"], "cwd": "/"}},
        container_id="c",
        rootfs="/r",
        scratch="/s",
        probe=PROBE,
    )
    assert out.config["process"]["terminal"] is False and "process.terminal true -> false" in out.rewrites
    assert out.directories == []
    bare = rebase({"ociVersion": "1.0.2"}, container_id="c", rootfs="/r", scratch="/s", probe=PROBE)
    assert bare.config == {"ociVersion": "1.0.2", "root": {"path": "/r"}}


@pytest.mark.parametrize(
    ("release", "declared", "expected"),
    [
        ("1.2.0", "1.0.2-dev", "newer"),
        ("1.0.2-dev", "1.0.2-dev", "same"),
        ("1.1.0", "1.2.1", "older"),
        ("1.2.0", "1.2.0-dev", "same"),
        ("", "1.2.0", "unknown"),
    ],
)
def test_relation_of_a_written_release_to_the_declared_one(release, declared, expected):
    assert relation(release, declared) == expected
