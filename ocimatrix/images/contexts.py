"""Build contexts (a Dockerfile and a rootfs) for the images the suites build.

The lifecycle image's entrypoint reports what the engine handed the process — arguments, the
environment, the working directory and the user — so one run checks how a runner read the config.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ocimatrix.images.busybox import busybox_for

APPLETS = ("sh", "echo", "id", "pwd", "cat", "env", "sleep", "uname", "ls", "true", "false", "printf", "test")

REPORT_SCRIPT = """\
#!/bin/sh
# Prints what the container was started with, one key=value a line; OCIMATRIX_EXIT sets the exit code.
echo "argv=$*"
echo "greeting=$OCIMATRIX_GREETING"
echo "override=$OCIMATRIX_OVERRIDE"
echo "pwd=$(pwd)"
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "user=$(id -un 2>/dev/null)"
echo "machine=$(uname -m)"
exit "${OCIMATRIX_EXIT:-0}"
"""

PASSWD = "root:x:0:0:root:/root:/bin/sh\nocitest:x:1234:2345:ocimatrix test user:/home/ocitest:/bin/sh\n"
GROUP = "root:x:0:\nocitest:x:2345:\n"

# What the Dockerfile declares; the suites assert against these same values.
GREETING = "hello from the image config"
WORKDIR = "/srv/ocimatrix"
USER = "ocitest"
UID, GID = 1234, 2345
ENTRYPOINT = ["/bin/sh", "/report.sh"]
CMD = ["from-cmd", "second"]
LABELS = {
    "org.opencontainers.image.title": "ocimatrix lifecycle probe",
    "io.ocimatrix.probe": "lifecycle",
}

DOCKERFILE = f"""\
FROM scratch
COPY rootfs/ /
ENV PATH=/bin OCIMATRIX_GREETING="{GREETING}"
WORKDIR {WORKDIR}
USER {USER}
LABEL {" ".join(f'{k}="{v}"' for k, v in LABELS.items())}
ENTRYPOINT {ENTRYPOINT!r}
CMD {CMD!r}
""".replace("'", '"')


def write_rootfs(root: Path, platform: str) -> None:
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox_for(platform), root / "bin" / "busybox")
    for applet in APPLETS:
        link = root / "bin" / applet
        if not link.is_symlink():
            link.symlink_to("busybox")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for directory in ("tmp", "home/ocitest", WORKDIR.strip("/")):
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    report = root / "report.sh"
    report.write_text(REPORT_SCRIPT)
    report.chmod(0o755)


def lifecycle_context(directory: Path, platform: str, build_id: str) -> Path:
    """Write the lifecycle probe's build context into ``directory`` and return it.

    ``build_id`` lands in the layer, so no two builds share a layer: an engine that already holds a
    layer with the same diff_id skips downloading it, which would hide a layer it can't unpack.
    """
    write_rootfs(directory / "rootfs", platform)
    (directory / "rootfs" / "etc" / "ocimatrix-build").write_text(build_id + "\n")
    (directory / "Dockerfile").write_text(DOCKERFILE)
    return directory


def platform_dir(platform: str) -> str:
    """The rootfs directory of ``platform`` in a multi-platform context, as BuildKit's TARGETOS,
    TARGETARCH and TARGETVARIANT spell it (``linux/arm/v7`` -> ``rootfs-linux-armv7``)."""
    return "rootfs-" + "-".join(platform.split("/")[:2]) + "".join(platform.split("/")[2:])


def platforms_context(directory: Path, platforms: list[str], build_id: str) -> Path:
    """One context for every platform of ``platforms`` (a builder that builds them all in one build):
    each platform's rootfs in a directory of its own, chosen by BuildKit's target arguments."""
    for platform in platforms:
        root = directory / platform_dir(platform)
        write_rootfs(root, platform)
        (root / "etc" / "ocimatrix-build").write_text(f"{build_id} {platform}\n")
    chosen = "COPY rootfs-${TARGETOS}-${TARGETARCH}${TARGETVARIANT}/ /"
    dockerfile = DOCKERFILE.replace("COPY rootfs/ /", f"ARG TARGETOS TARGETARCH TARGETVARIANT\n{chosen}")
    (directory / "Dockerfile").write_text(dockerfile)
    return directory


def parse_report(stdout: str) -> dict[str, str]:
    """The key=value lines the probe printed (the last value wins if a key repeats)."""
    report = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            report[key] = value
    return report
