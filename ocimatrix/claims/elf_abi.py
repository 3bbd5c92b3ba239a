"""The minimum kernel an ELF binary asks for: glibc's ABI note (NT_GNU_ABI_TAG in PT_NOTE).

glibc refuses to start ("FATAL: kernel too old") on a kernel older than the version in this note,
so an image whose binaries carry 4.4.0 does not run on a 3.10 host whatever the engine. Only the
program headers and notes are read, from the first bytes of the file (``HEAD_BYTES``), where
linkers put them.
"""

from __future__ import annotations

import struct

HEAD_BYTES = 64 * 1024
PT_NOTE = 4
NT_GNU_ABI_TAG = 1
ABI_OS_LINUX = 0


def abi_tag(head: bytes) -> tuple[int, int, int] | None:
    """(major, minor, patch) from a Linux ABI note in ``head`` (the file's first bytes), or None."""
    if len(head) < 52 or not head.startswith(b"\x7fELF") or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    bits64 = head[4] == 2
    order = "<" if head[5] == 1 else ">"
    try:
        if bits64:
            phoff, phentsize, phnum = (
                struct.unpack_from(f"{order}Q", head, 32)[0],
                *struct.unpack_from(f"{order}HH", head, 54),
            )
        else:
            phoff, phentsize, phnum = (
                struct.unpack_from(f"{order}I", head, 28)[0],
                *struct.unpack_from(f"{order}HH", head, 42),
            )
        for index in range(min(phnum, 64)):
            at = phoff + index * phentsize
            if at + phentsize > len(head):
                return None
            if struct.unpack_from(f"{order}I", head, at)[0] != PT_NOTE:
                continue
            if bits64:
                offset, size = (
                    struct.unpack_from(f"{order}Q", head, at + 8)[0],
                    struct.unpack_from(f"{order}Q", head, at + 32)[0],
                )
            else:
                offset, size = (
                    struct.unpack_from(f"{order}I", head, at + 4)[0],
                    struct.unpack_from(f"{order}I", head, at + 16)[0],
                )
            found = _notes(head, offset, size, order)
            if found is not None:
                return found
    except struct.error:
        return None
    return None


def _notes(head: bytes, offset: int, size: int, order: str) -> tuple[int, int, int] | None:
    end = min(offset + size, len(head))
    at = offset
    while at + 12 <= end:
        namesz, descsz, kind = struct.unpack_from(f"{order}III", head, at)
        name_at = at + 12
        desc_at = name_at + _align4(namesz)
        name = head[name_at : name_at + namesz]
        if kind == NT_GNU_ABI_TAG and name == b"GNU\x00" and descsz >= 16 and desc_at + 16 <= len(head):
            os_id, major, minor, patch = struct.unpack_from(f"{order}IIII", head, desc_at)
            if os_id == ABI_OS_LINUX:
                return (major, minor, patch)
        at = desc_at + _align4(descsz)
    return None


def _align4(n: int) -> int:
    return (n + 3) & ~3


def kernel_text(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)
