"""An engine's recorded config.json, made runnable by any runtime in a bundle the harness owns.

The recording shim (``recording_shim.py``) saves the config.json an engine hands its runtime. To ask
every other runtime (of every generation) what it does with that very document, ``rebase`` keeps the
engine's ``ociVersion`` and every property as written and rewrites only what names the engine's own
objects, which are gone once its container is:

- ``root.path``: a rootfs of the harness's (``readonly`` as the engine set it);
- ``process.args``: the harness's probe (the image's entrypoint is not in that rootfs);
  ``process.terminal``: false (no console socket is handed over);
- a bind mount's ``source`` (the engine's hosts, resolv.conf, shm directory ...): an empty file or
  directory of the harness's, of the same kind (``Rebased.sources``);
- a hook's ``path``: ``/bin/true``, one per hook the engine listed, in its kind and place (the
  engine's hooks call back into its daemon);
- a namespace's ``path`` (the pod sandbox's namespaces): dropped, so the runtime makes that namespace;
- ``linux.cgroupsPath``: ``/<container id>``, under the runtime's own cgroup hierarchy;
- the annotations that make a container join the engine's pod sandbox (its type and sandbox id):
  dropped, as the sandbox is not crossed.

Every rewrite is listed (``Rebased.rewrites``) and kept as the cell's evidence.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ocimatrix.runtime.documents import semver_key

HOOK_STANDIN = "/bin/true"
# Annotations by which a CRI runtime's container names the pod sandbox it must join (the kubernetes
# CRI's and others of the same shape): a runtime reading them looks for a sandbox this harness never made.
_SANDBOX_ANNOTATION = re.compile(r"^io\.kubernetes\.[\w.-]+\.(container-type|sandbox-id|ContainerType|SandboxID)$")


@dataclass
class Rebased:
    config: dict[str, Any]
    rewrites: list[str] = field(default_factory=list)
    # (path of the harness's stand-in, "file" or "dir"): what the caller makes before create.
    sources: list[tuple[str, str]] = field(default_factory=list)
    # Directories the rebased config needs in the rootfs (the engine's cwd).
    directories: list[str] = field(default_factory=list)


def _is_bind(mount: dict[str, Any]) -> bool:
    options = mount.get("options") or []
    return mount.get("type") == "bind" or any(o in ("bind", "rbind") for o in options if isinstance(o, str))


def _kind_of(destination: str) -> str:
    """What a bind mount's source was, read from where it lands: files under /etc and dotted names
    (hosts, resolv.conf, .containerenv), directories otherwise (/dev/shm, secrets)."""
    path = PurePosixPath(destination)
    return "file" if path.parent == PurePosixPath("/etc") or "." in path.name else "dir"


def rebase(recorded: dict[str, Any], *, container_id: str, rootfs: str, scratch: str, probe: list[str]) -> Rebased:
    """``recorded`` (an engine's config.json) with its engine-owned paths rewritten; see the module doc."""
    config = copy.deepcopy(recorded)
    out = Rebased(config)
    root = config.get("root") if isinstance(config.get("root"), dict) else {}
    out.rewrites.append(f"root.path {root.get('path')!r} -> the harness's rootfs")
    config["root"] = {"path": rootfs, **({"readonly": root["readonly"]} if "readonly" in root else {})}

    process = config.get("process")
    if isinstance(process, dict):
        out.rewrites.append(f"process.args {process.get('args')!r} -> {probe!r}")
        process["args"] = list(probe)
        if process.get("terminal"):
            out.rewrites.append("process.terminal true -> false")
            process["terminal"] = False
        cwd = process.get("cwd")
        if isinstance(cwd, str) and cwd.startswith("/") and cwd != "/":
            out.directories.append(cwd)

    for index, mount in enumerate(config.get("mounts") or []):
        if not isinstance(mount, dict) or not _is_bind(mount):
            continue
        destination = str(mount.get("destination") or f"mount-{index}")
        kind = _kind_of(destination)
        standin = f"{scratch}/mount-{index}-{PurePosixPath(destination).name or 'root'}"
        out.rewrites.append(f"mounts[{index}] ({destination}) source {mount.get('source')!r} -> an empty {kind}")
        out.sources.append((standin, kind))
        mount["source"] = standin

    hooks = config.get("hooks")
    if isinstance(hooks, dict):
        for kind, listed in hooks.items():
            for index, hook in enumerate(listed if isinstance(listed, list) else []):
                if not isinstance(hook, dict):
                    continue
                out.rewrites.append(f"hooks.{kind}[{index}] {hook.get('path')!r} -> {HOOK_STANDIN}")
                listed[index] = {"path": HOOK_STANDIN, **({"timeout": hook["timeout"]} if "timeout" in hook else {})}

    linux = config.get("linux")
    if isinstance(linux, dict):
        for namespace in linux.get("namespaces") or []:
            if isinstance(namespace, dict) and namespace.get("path"):
                out.rewrites.append(f"linux.namespaces {namespace.get('type')} path {namespace['path']!r} dropped")
                del namespace["path"]
        if "cgroupsPath" in linux:
            out.rewrites.append(f"linux.cgroupsPath {linux['cgroupsPath']!r} -> '/{container_id}'")
            linux["cgroupsPath"] = f"/{container_id}"

    annotations = config.get("annotations")
    if isinstance(annotations, dict):
        for key in sorted(k for k in annotations if _SANDBOX_ANNOTATION.match(k)):
            out.rewrites.append(f"annotations[{key!r}] {annotations.pop(key)!r} dropped")
    return out


def relation(release: str, declared: str) -> str:
    """How ``release`` stands to the spec version a runtime declares: older, same, newer or unknown."""
    have, want = semver_key(declared), semver_key(release)
    if have is None or want is None:
        return "unknown"
    # A pre-release (1.0.2-dev, 1.1.0-rc.1) implements less than its release: compare the numbers only.
    have_numbers, want_numbers = have[:3], want[:3]
    if want_numbers > have_numbers:
        return "newer"
    return "same" if want_numbers == have_numbers else "older"
