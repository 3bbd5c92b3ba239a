"""A typed builder of a bundle's ``config.json`` (runtime-spec config.md and config-linux.md).

Only what the runtime suite sets is modelled; ``to_json`` drops unset optional properties, so the
document says exactly what a test asked for. The defaults are a minimal Linux container: its own
pid, ipc, uts, mount and network namespaces (the network one empty), the spec's default filesystems
(config-linux.md "Default Filesystems") and a tmpfs /tmp, so the shared rootfs can stay read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OCI_VERSION = "1.0.2"
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A small bounding set, like the engines' defaults minus what no test here needs.
DEFAULT_CAPABILITIES = ("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID")


@dataclass
class Mount:
    destination: str
    type: str | None = None
    source: str | None = None
    options: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"destination": self.destination}
        if self.type is not None:
            doc["type"] = self.type
        if self.source is not None:
            doc["source"] = self.source
        if self.options:
            doc["options"] = list(self.options)
        return doc

    @classmethod
    def bind(cls, source: str, destination: str, *, readonly: bool = False) -> Mount:
        return cls(destination, "bind", source, ["rbind", "ro" if readonly else "rw"])

    @classmethod
    def tmpfs(cls, destination: str, *options: str) -> Mount:
        return cls(destination, "tmpfs", "tmpfs", list(options))


@dataclass
class Hook:
    path: str
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    timeout: int | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path}
        if self.args:
            doc["args"] = list(self.args)
        if self.env:
            doc["env"] = list(self.env)
        if self.timeout is not None:
            doc["timeout"] = self.timeout
        return doc


@dataclass
class Rlimit:
    type: str
    soft: int
    hard: int

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "soft": self.soft, "hard": self.hard}


@dataclass
class Namespace:
    type: str
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "path": self.path} if self.path else {"type": self.type}


@dataclass
class Device:
    path: str
    type: str
    major: int
    minor: int
    file_mode: int = 0o666
    uid: int = 0
    gid: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "major": self.major,
            "minor": self.minor,
            "fileMode": self.file_mode,
            "uid": self.uid,
            "gid": self.gid,
        }


@dataclass
class Process:
    args: list[str]
    env: list[str] = field(default_factory=lambda: [f"PATH={DEFAULT_PATH}"])
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    umask: int | None = None
    # kind (bounding, effective, permitted, inheritable, ambient) -> names; None = the defaults above
    capabilities: dict[str, list[str]] | None = None
    rlimits: list[Rlimit] = field(default_factory=list)
    no_new_privileges: bool | None = None
    oom_score_adj: int | None = None
    terminal: bool = False

    def to_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"uid": self.uid, "gid": self.gid}
        if self.additional_gids:
            user["additionalGids"] = list(self.additional_gids)
        if self.umask is not None:
            user["umask"] = self.umask
        caps = self.capabilities
        if caps is None:
            caps = {kind: list(DEFAULT_CAPABILITIES) for kind in ("bounding", "effective", "permitted")}
        doc: dict[str, Any] = {
            "terminal": self.terminal,
            "user": user,
            "args": list(self.args),
            "env": list(self.env),
            "cwd": self.cwd,
            "capabilities": {kind: list(names) for kind, names in caps.items()},
        }
        if self.rlimits:
            doc["rlimits"] = [r.to_json() for r in self.rlimits]
        if self.no_new_privileges is not None:
            doc["noNewPrivileges"] = self.no_new_privileges
        if self.oom_score_adj is not None:
            doc["oomScoreAdj"] = self.oom_score_adj
        return doc


def default_mounts() -> list[Mount]:
    return [
        Mount("/proc", "proc", "proc"),
        Mount.tmpfs("/dev", "nosuid", "strictatime", "mode=755", "size=65536k"),
        Mount("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
        Mount.tmpfs("/dev/shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
        Mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        Mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        Mount.tmpfs("/tmp", "nosuid", "nodev", "mode=1777"),
    ]


def default_namespaces() -> list[Namespace]:
    # A new network namespace has only a down loopback: the container has no network at all.
    return [Namespace(t) for t in ("pid", "network", "ipc", "uts", "mount")]


@dataclass
class RuntimeConfig:
    process: Process
    root_path: str = "rootfs"
    root_readonly: bool = True
    hostname: str | None = "ocimatrix"
    domainname: str | None = None
    mounts: list[Mount] = field(default_factory=default_mounts)
    hooks: dict[str, list[Hook]] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    namespaces: list[Namespace] = field(default_factory=default_namespaces)
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    sysctl: dict[str, str] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    cgroups_path: str | None = None
    seccomp: dict[str, Any] | None = None
    devices: list[Device] = field(default_factory=list)
    oci_version: str = OCI_VERSION

    def to_json(self) -> dict[str, Any]:
        unknown = set(self.hooks) - set(HOOK_KINDS)
        if unknown:
            raise ValueError(f"unknown hook kinds {sorted(unknown)}; the spec's are {', '.join(HOOK_KINDS)}")
        linux: dict[str, Any] = {"namespaces": [ns.to_json() for ns in self.namespaces]}
        optional_linux = {
            "maskedPaths": list(self.masked_paths),
            "readonlyPaths": list(self.readonly_paths),
            "sysctl": dict(self.sysctl),
            "resources": dict(self.resources),
            "devices": [d.to_json() for d in self.devices],
        }
        linux.update({key: value for key, value in optional_linux.items() if value})
        if self.cgroups_path:
            linux["cgroupsPath"] = self.cgroups_path
        if self.seccomp is not None:
            linux["seccomp"] = self.seccomp
        doc: dict[str, Any] = {
            "ociVersion": self.oci_version,
            "process": self.process.to_json(),
            "root": {"path": self.root_path, "readonly": self.root_readonly},
            "mounts": [m.to_json() for m in self.mounts],
            "linux": linux,
        }
        if self.hostname is not None:
            doc["hostname"] = self.hostname
        if self.domainname is not None:
            doc["domainname"] = self.domainname
        if self.hooks:
            doc["hooks"] = {kind: [h.to_json() for h in hooks] for kind, hooks in self.hooks.items()}
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        return doc

    def namespace(self, kind: str) -> Namespace | None:
        return next((ns for ns in self.namespaces if ns.type == kind), None)

    def set_namespace(self, kind: str, path: str | None = None) -> None:
        self.namespaces = [ns for ns in self.namespaces if ns.type != kind] + [Namespace(kind, path)]
