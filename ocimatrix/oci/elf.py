"""Which CPU an ELF file is built for, read from the first 20 bytes of its header.

Used to catch images whose config says one architecture while their binaries are built for
another. Only the ELF identification (EI_CLASS, EI_DATA), e_type and e_machine are read.

Public API: ``ElfIdent``, ``read_ident(header_bytes)``, ``GOARCH_ELF`` (GOARCH -> expected
ident), ``describe(ident)`` and ``arch_compatible(goarch, ident)``.
"""

from __future__ import annotations

from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
HEADER_BYTES = 20

ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4

EM_SPARC = 2
EM_386 = 3
EM_MIPS = 8
EM_PPC = 20
EM_PPC64 = 21
EM_S390 = 22
EM_ARM = 40
EM_SPARCV9 = 43
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243
EM_LOONGARCH = 258

MACHINE_NAMES = {
    EM_SPARC: "SPARC",
    EM_386: "Intel 80386",
    EM_MIPS: "MIPS",
    EM_PPC: "PowerPC",
    EM_PPC64: "PowerPC64",
    EM_S390: "IBM S/390",
    EM_ARM: "ARM",
    EM_SPARCV9: "SPARC v9",
    EM_X86_64: "x86-64",
    EM_AARCH64: "AArch64",
    EM_RISCV: "RISC-V",
    EM_LOONGARCH: "LoongArch",
}


@dataclass(frozen=True)
class ElfIdent:
    machine: int
    bits: int  # 32 or 64
    little_endian: bool
    elf_type: int = ET_EXEC

    def key(self) -> tuple[int, int, bool]:
        return (self.machine, self.bits, self.little_endian)


def _ident(machine: int, bits: int, little: bool) -> ElfIdent:
    return ElfIdent(machine, bits, little)


# GOARCH -> what its binaries look like.
GOARCH_ELF: dict[str, ElfIdent] = {
    "386": _ident(EM_386, 32, True),
    "amd64": _ident(EM_X86_64, 64, True),
    "amd64p32": _ident(EM_X86_64, 32, True),
    "arm": _ident(EM_ARM, 32, True),
    "armbe": _ident(EM_ARM, 32, False),
    "arm64": _ident(EM_AARCH64, 64, True),
    "arm64be": _ident(EM_AARCH64, 64, False),
    "loong64": _ident(EM_LOONGARCH, 64, True),
    "mips": _ident(EM_MIPS, 32, False),
    "mipsle": _ident(EM_MIPS, 32, True),
    "mips64": _ident(EM_MIPS, 64, False),
    "mips64le": _ident(EM_MIPS, 64, True),
    "ppc": _ident(EM_PPC, 32, False),
    "ppc64": _ident(EM_PPC64, 64, False),
    "ppc64le": _ident(EM_PPC64, 64, True),
    "riscv": _ident(EM_RISCV, 32, True),
    "riscv64": _ident(EM_RISCV, 64, True),
    "s390": _ident(EM_S390, 32, False),
    "s390x": _ident(EM_S390, 64, False),
    "sparc": _ident(EM_SPARC, 32, False),
    "sparc64": _ident(EM_SPARCV9, 64, False),
}

# 64-bit platforms that run their 32-bit sibling natively; multilib images legitimately ship both.
_COMPAT: dict[str, set[tuple[int, int, bool]]] = {
    "amd64": {GOARCH_ELF["386"].key(), GOARCH_ELF["amd64p32"].key()},
    "arm64": {GOARCH_ELF["arm"].key()},
    "s390x": {GOARCH_ELF["s390"].key()},
    "ppc64": {GOARCH_ELF["ppc"].key()},
    "mips64": {GOARCH_ELF["mips"].key()},
    "mips64le": {GOARCH_ELF["mipsle"].key()},
}

# Operating systems whose binaries are ELF; for others (windows, darwin) nothing is checked.
ELF_OSES = frozenset({"linux", "freebsd", "netbsd", "openbsd", "dragonfly", "solaris", "illumos", "android"})


def read_ident(header: bytes) -> ElfIdent | None:
    """The ident of an ELF header, or None if ``header`` does not start one."""
    if len(header) < HEADER_BYTES or not header.startswith(ELF_MAGIC):
        return None
    ei_class, ei_data = header[4], header[5]
    if ei_class not in (ELFCLASS32, ELFCLASS64) or ei_data not in (ELFDATA2LSB, ELFDATA2MSB):
        return None
    order = "little" if ei_data == ELFDATA2LSB else "big"
    elf_type = int.from_bytes(header[16:18], order)
    machine = int.from_bytes(header[18:20], order)
    return ElfIdent(machine, 32 if ei_class == ELFCLASS32 else 64, ei_data == ELFDATA2LSB, elf_type)


def describe(ident: ElfIdent) -> str:
    name = MACHINE_NAMES.get(ident.machine, f"e_machine {ident.machine}")
    endian = "LSB" if ident.little_endian else "MSB"
    return f"ELF {ident.bits}-bit {endian} {name}"


def goarch_for(ident: ElfIdent) -> str | None:
    for goarch, expected in GOARCH_ELF.items():
        if expected.key() == ident.key():
            return goarch
    return None


def arch_compatible(goarch: str, ident: ElfIdent) -> bool | None:
    """True if a ``goarch`` image may carry this binary, False if not, None if ``goarch`` is unknown."""
    expected = GOARCH_ELF.get(goarch)
    if expected is None:
        return None
    return ident.key() == expected.key() or ident.key() in _COMPAT.get(goarch, set())
