"""Linux capability names and the bit masks /proc/PID/status shows them as (CapBnd, CapEff, ...)."""

from __future__ import annotations

from collections.abc import Iterable

# capability(7) numbers, in order: the index is the bit.
CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
# /proc/PID/status line -> the process.capabilities set it shows.
STATUS_FIELDS = {
    "CapBnd": "bounding",
    "CapEff": "effective",
    "CapPrm": "permitted",
    "CapInh": "inheritable",
    "CapAmb": "ambient",
}


def mask_of(names: Iterable[str]) -> int:
    mask = 0
    for name in names:
        mask |= 1 << CAPABILITIES.index(name)
    return mask


def names_of(mask: int) -> set[str]:
    """The capability names of the set bits; bits beyond the known ones appear as CAP_<bit>."""
    found = set()
    bit = 0
    while mask >> bit:
        if (mask >> bit) & 1:
            found.add(CAPABILITIES[bit] if bit < len(CAPABILITIES) else f"CAP_{bit}")
        bit += 1
    return found


def sets_from_status(status_text: str) -> dict[str, set[str]]:
    """The capability sets a /proc/PID/status text reports, keyed like process.capabilities."""
    sets = {}
    for line in status_text.splitlines():
        key, _, value = line.partition(":")
        if key in STATUS_FIELDS:
            sets[STATUS_FIELDS[key]] = names_of(int(value.strip(), 16))
    return sets
