"""Platform values: the GOOS/GOARCH lists the image-spec points to and its variant table.

image-index.md and config.md say images SHOULD use the values the Go documentation lists for
$GOOS and $GOARCH (the "Installing Go from source" environment table), and the variants of the
spec's own table. Anything else is implementation-defined: a warning, not an error.

Public API: ``GOOS``, ``GOARCH``, ``VARIANTS``, ``platform_problems(platform)`` yielding
(rule_id, field, message), ``format_platform``, ``parse_platform("os/arch[/variant]")``,
``platform_matches(wanted, platform)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

GOOS = frozenset(
    {
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "illumos",
        "ios",
        "js",
        "linux",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "wasip1",
        "windows",
    }
)

GOARCH = frozenset(
    {
        "386",
        "amd64",
        "arm",
        "arm64",
        "loong64",
        "mips",
        "mipsle",
        "mips64",
        "mips64le",
        "ppc64",
        "ppc64le",
        "riscv64",
        "s390x",
        "wasm",
    }
)

# image-index.md, "Platform Variants" table of v1.1.
VARIANTS: dict[str, frozenset[str]] = {
    "arm": frozenset({"v6", "v7", "v8"}),
    "arm64": frozenset({"v8"}),
}


def platform_problems(platform: Mapping) -> Iterator[tuple[str, str, str]]:
    os_name = platform.get("os")
    arch = platform.get("architecture")
    variant = platform.get("variant")
    if isinstance(os_name, str) and os_name not in GOOS:
        yield "platform.unknown-os", "os", f"os {os_name!r} is not a GOOS value (e.g. linux, windows)"
    if isinstance(arch, str) and arch not in GOARCH:
        hint = {"x86_64": "amd64", "aarch64": "arm64", "i386": "386", "armhf": "arm", "ppc64el": "ppc64le"}.get(arch)
        extra = f"; did you mean {hint!r}?" if hint else ""
        yield "platform.unknown-architecture", "architecture", f"architecture {arch!r} is not a GOARCH value{extra}"
    if isinstance(variant, str) and isinstance(arch, str):
        allowed = VARIANTS.get(arch)
        if allowed is None or variant not in allowed:
            listed = ", ".join(sorted(allowed)) if allowed else "none"
            yield (
                "platform.unknown-variant",
                "variant",
                f"variant {variant!r} is not in the spec's table for {arch!r} (listed: {listed})",
            )
    if "features" in platform:
        yield "platform.features-reserved", "features", "platform.features is reserved for future versions"


def format_platform(platform: Mapping) -> str:
    parts = [str(platform.get("os", "?")), str(platform.get("architecture", "?"))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def parse_platform(text: str) -> dict[str, str]:
    """``linux/arm64`` or ``linux/arm/v7`` into a platform dict; raises ValueError otherwise."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"platform {text!r} is not os/architecture[/variant]")
    result = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        result["variant"] = parts[2]
    return result


def platform_matches(wanted: Mapping, platform: Mapping | None) -> bool:
    if not platform:
        return False
    return all(wanted[key] == platform.get(key) for key in ("os", "architecture", "variant") if key in wanted)
