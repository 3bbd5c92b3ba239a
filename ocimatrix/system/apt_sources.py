"""The host's apt configuration, read: which archives it names (one-line and deb822 sources), which
one serves the host's own release, and the release's codename."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

APT_ETC = Path("/etc/apt")
OS_RELEASE = Path("/etc/os-release")


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str = ""


# --- reading the host's apt configuration ------------------------------------------------------


def parse_one_line_sources(text: str) -> list[AptSource]:
    """``deb [opt=val ...] URI SUITE COMPONENT...`` lines of a sources.list file."""
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue  # deb-src and blank lines carry no binary packages
        options: dict[str, str] = {}
        rest = line[4:].strip()
        if rest.startswith("["):
            closing = rest.find("]")
            if closing < 0:
                continue
            for option in rest[1:closing].split():
                key, _, value = option.partition("=")
                options[key] = value
            rest = rest[closing + 1 :].strip()
        words = rest.split()
        if len(words) < 3:
            continue
        sources.append(AptSource(words[0], (words[1],), tuple(words[2:]), options.get("signed-by", "")))
    return sources


def parse_deb822_sources(text: str) -> list[AptSource]:
    """Stanzas of a ``.sources`` file (deb822: ``Types``, ``URIs``, ``Suites``, ``Components``)."""
    sources = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += "\n" + line.strip()  # a continuation line (e.g. an inline key)
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        signed_by = fields.get("signed-by", "")
        if "\n" in signed_by:
            signed_by = ""  # an inline key block: apt reads it from this file, we can't point at it
        for uri in fields.get("uris", "").split():
            sources.append(
                AptSource(
                    uri,
                    tuple(fields.get("suites", "").split()),
                    tuple(fields.get("components", "").split()),
                    signed_by,
                )
            )
    return sources


def configured_sources(apt_etc: Path = APT_ETC) -> list[AptSource]:
    """Every binary source of the host's apt configuration (disabled files are skipped by name)."""
    sources: list[AptSource] = []
    main_list = apt_etc / "sources.list"
    if main_list.is_file():
        sources += parse_one_line_sources(main_list.read_text(errors="replace"))
    parts = apt_etc / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                sources += parse_one_line_sources(path.read_text(errors="replace"))
            elif path.suffix == ".sources":
                sources += parse_deb822_sources(path.read_text(errors="replace"))
    return sources


def debian_mirror(sources: Iterable[AptSource], codename: str) -> AptSource | None:
    """The source serving the release itself (not -updates or -security) with ``main``."""
    for source in sources:
        if codename in source.suites and "main" in source.components:
            return source
    return None


def host_codename(os_release: Path = OS_RELEASE) -> str:
    try:
        text = os_release.read_text()
    except OSError:
        return ""
    match = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?$", text, re.MULTILINE)
    return match.group(1) if match else ""
