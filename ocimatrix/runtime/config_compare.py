"""What each engine told its runtime: a bundle's config.json read aspect by aspect, and compared.

The recording shim (``recording_shim.py``) saves the config.json docker, podman, ``ctr`` and
containerd's CRI hand runc for the same probe image. ``aspects`` reads the parts issue 14 asks
about (env, capabilities, masked and read-only paths, rlimits, seccomp, cgroup path, oomScoreAdj,
mounts, user ...) with what differs from container to container taken out (ids, scratch paths), so
equal settings compare equal; ``differences`` lists each aspect on which engines disagree, with the
runtime-spec section that defines it.

Verdicts (the engine-config test and the site follow them):
- a config that breaks the config schema (``schemas/runtime/config.schema.json``) or a MUST the schema
  can't express (``must_problems``: namespace and rlimit types listed twice) is ``failed``;
- a difference between engines is evidence, not a failure: runtime-spec defines the format of each
  property and what the runtime does with it, never which values an engine picks (config.md
  "Container Configuration file"), so two engines that differ are both conforming. The site shows
  them side by side, each row with its spec section.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ocimatrix.runtime.documents import problems
from ocimatrix.specs import link

MARKER_VARIABLE = "OCIMATRIX_RECORD"  # the env entry the test finds its record by; its value differs by design

_HEX_ID = re.compile(r"\b[0-9a-f]{64}\b")
_SHORT_ID = re.compile(r"\b[0-9a-f]{12}\b")
_STATE_PATH = re.compile(r"/var/tmp/ocimatrix-[^/\s]+")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


@dataclass(frozen=True)
class Aspect:
    key: str
    title: str
    section: str  # the runtime-spec section that defines it
    anchor: str  # document#anchor in the runtime-spec
    read: Callable[[dict[str, Any]], Any]

    @property
    def url(self) -> str:
        return link(f"runtime-spec/{self.anchor}")


def _get(document: Any, *path: str) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _env(config: dict[str, Any]) -> list[str]:
    env = _get(config, "process", "env") or []
    return [f"{MARKER_VARIABLE}=…" if str(e).startswith(f"{MARKER_VARIABLE}=") else str(e) for e in env]


def _args(config: dict[str, Any]) -> Any:
    return _get(config, "process", "args")


def _env_set_twice(config: dict[str, Any]) -> list[str]:
    names = [str(e).partition("=")[0] for e in _get(config, "process", "env") or []]
    return sorted({name for name in names if names.count(name) > 1})


def _user(config: dict[str, Any]) -> dict[str, Any]:
    user = _get(config, "process", "user") or {}
    return {k: user[k] for k in ("uid", "gid", "umask", "additionalGids", "username") if k in user}


def _capabilities(config: dict[str, Any]) -> dict[str, list[str]]:
    caps = _get(config, "process", "capabilities") or {}
    return {kind: sorted(names) for kind, names in caps.items() if isinstance(names, list)}


def _rlimits(config: dict[str, Any]) -> list[str]:
    limits = _get(config, "process", "rlimits") or []
    return sorted(f"{r.get('type')} soft={r.get('soft')} hard={r.get('hard')}" for r in limits if isinstance(r, dict))


def _seccomp(config: dict[str, Any]) -> dict[str, Any] | str:
    seccomp = _get(config, "linux", "seccomp")
    if not isinstance(seccomp, dict):
        return "absent"
    rules = seccomp.get("syscalls") or []
    named = sum(len(rule.get("names") or []) for rule in rules if isinstance(rule, dict))
    summary = {"defaultAction": seccomp.get("defaultAction"), "rules": len(rules), "syscalls named": named}
    if "defaultErrnoRet" in seccomp:
        summary["defaultErrnoRet"] = seccomp["defaultErrnoRet"]
    if seccomp.get("architectures"):
        summary["architectures"] = seccomp["architectures"]
    return summary


def _mounts(config: dict[str, Any]) -> list[str]:
    lines = []
    for mount in config.get("mounts") or []:
        if not isinstance(mount, dict):
            continue
        kind = mount.get("type") or "?"
        # A bind mount's source is a per-container file of the engine's (hosts, resolv.conf): its path says nothing.
        source = "" if kind == "bind" or "bind" in (mount.get("options") or []) else f" from {mount.get('source')}"
        options = ",".join(mount.get("options") or [])
        lines.append(f"{mount.get('destination')} {kind}{source} [{options}]")
    return lines


def _namespaces(config: dict[str, Any]) -> list[str]:
    spaces = _get(config, "linux", "namespaces") or []
    return sorted(f"{n.get('type')}{' (joined)' if n.get('path') else ''}" for n in spaces if isinstance(n, dict))


ASPECTS: tuple[Aspect, ...] = (
    Aspect("env", "process.env (order kept)", "config.md: Process (env)", "config.md#process", _env),
    Aspect(
        "env_set_twice",
        "process.env names listed twice (which one wins is the runtime's choice)",
        "config.md: Process (env)",
        "config.md#process",
        _env_set_twice,
    ),
    Aspect("args", "process.args", "config.md: Process (args)", "config.md#process", _args),
    Aspect("cwd", "process.cwd", "config.md: Process (cwd)", "config.md#process", lambda c: _get(c, "process", "cwd")),
    Aspect("user", "process.user", "config.md: User (POSIX platforms)", "config.md#user", _user),
    Aspect(
        "capabilities",
        "process.capabilities",
        "config.md: Linux Process (capabilities)",
        "config.md#linux-process",
        _capabilities,
    ),
    Aspect("rlimits", "process.rlimits", "config.md: POSIX process (rlimits)", "config.md#posix-process", _rlimits),
    Aspect(
        "noNewPrivileges",
        "process.noNewPrivileges",
        "config.md: Linux Process (noNewPrivileges)",
        "config.md#linux-process",
        lambda c: _get(c, "process", "noNewPrivileges"),
    ),
    Aspect(
        "oomScoreAdj",
        "process.oomScoreAdj",
        "config.md: Linux Process (oomScoreAdj)",
        "config.md#linux-process",
        lambda c: _get(c, "process", "oomScoreAdj"),
    ),
    Aspect(
        "maskedPaths",
        "linux.maskedPaths",
        "config-linux.md: Masked Paths",
        "config-linux.md#masked-paths",
        lambda c: _get(c, "linux", "maskedPaths") or [],
    ),
    Aspect(
        "readonlyPaths",
        "linux.readonlyPaths",
        "config-linux.md: Readonly Paths",
        "config-linux.md#readonly-paths",
        lambda c: _get(c, "linux", "readonlyPaths") or [],
    ),
    Aspect("seccomp", "linux.seccomp", "config-linux.md: Seccomp", "config-linux.md#seccomp", _seccomp),
    Aspect(
        "cgroupsPath",
        "linux.cgroupsPath",
        "config-linux.md: Cgroups Path",
        "config-linux.md#cgroups-path",
        lambda c: _get(c, "linux", "cgroupsPath"),
    ),
    Aspect(
        "resources",
        "linux.resources (keys set)",
        "config-linux.md: Control groups",
        "config-linux.md#control-groups",
        lambda c: sorted(_get(c, "linux", "resources") or {}),
    ),
    Aspect("namespaces", "linux.namespaces", "config-linux.md: Namespaces", "config-linux.md#namespaces", _namespaces),
    Aspect("mounts", "mounts (destination, type, options)", "config.md: Mounts", "config.md#mounts", _mounts),
    Aspect(
        "root",
        "root.readonly",
        "config.md: Root",
        "config.md#root",
        lambda c: bool(_get(c, "root", "readonly")),
    ),
    Aspect(
        "sysctl",
        "linux.sysctl",
        "config-linux.md: Sysctl",
        "config-linux.md#sysctl",
        lambda c: _get(c, "linux", "sysctl") or {},
    ),
    Aspect(
        "devices",
        "linux.devices",
        "config-linux.md: Devices",
        "config-linux.md#devices",
        lambda c: sorted(str(d.get("path")) for d in _get(c, "linux", "devices") or [] if isinstance(d, dict)),
    ),
)
BY_KEY = {aspect.key: aspect for aspect in ASPECTS}


def _without_accidents(value: Any, container_id: str) -> Any:
    """``value`` with what differs from container to container (its id, sandbox ids, scratch paths) masked."""
    if isinstance(value, str):
        text = value.replace(container_id, "<id>") if container_id else value
        text = _STATE_PATH.sub("/var/tmp/ocimatrix-…", text)
        text = _UUID.sub("<uuid>", _HEX_ID.sub("<id>", text))
        return _SHORT_ID.sub("<id12>", text)
    if isinstance(value, list):
        return [_without_accidents(v, container_id) for v in value]
    if isinstance(value, dict):
        return {k: _without_accidents(v, container_id) for k, v in value.items()}
    return value


def aspects(config: Any, container_id: str = "") -> dict[str, Any]:
    """Each aspect's value in ``config`` (a parsed config.json), normalised for comparison."""
    document = config if isinstance(config, dict) else {}
    return {aspect.key: _without_accidents(aspect.read(document), container_id) for aspect in ASPECTS}


def must_problems(config: Any) -> list[str]:
    """Where ``config`` breaks the config schema or a MUST of config.md / config-linux.md, as 'where: what'."""
    found = problems("config", config)
    if not isinstance(config, dict):
        return found
    if not isinstance(config.get("process"), dict):
        found.append("/process: absent, yet REQUIRED when start is called (config.md: Process)")
    types = [n.get("type") for n in _get(config, "linux", "namespaces") or [] if isinstance(n, dict)]
    found += [
        f"/linux/namespaces: type {t!r} listed twice; a runtime MUST refuse it (config-linux.md: Namespaces)"
        for t in sorted({t for t in types if types.count(t) > 1}, key=str)
    ]
    limits = [r.get("type") for r in _get(config, "process", "rlimits") or [] if isinstance(r, dict)]
    found += [
        f"/process/rlimits: type {t!r} listed twice; a runtime MUST refuse it (config.md: POSIX process)"
        for t in sorted({t for t in limits if limits.count(t) > 1}, key=str)
    ]
    return found


@dataclass
class Difference:
    aspect: Aspect
    values: dict[str, Any]  # engine -> its value (engines that agree share one)

    def to_json(self) -> dict[str, Any]:
        return {
            "aspect": self.aspect.key,
            "section": self.aspect.section,
            "url": self.aspect.url,
            "values": self.values,
        }


def differences(per_engine: Mapping[str, Mapping[str, Any]]) -> list[Difference]:
    """The aspects on which ``per_engine`` (engine -> ``aspects(...)``) disagree, in ASPECTS order."""
    found = []
    for aspect in ASPECTS:
        values = {engine: read.get(aspect.key) for engine, read in per_engine.items()}
        if len({_canonical(v) for v in values.values()}) > 1:
            found.append(Difference(aspect, values))
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
