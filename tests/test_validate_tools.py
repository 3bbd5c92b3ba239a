"""Images made by real tools (umoci, skopeo) from Debian's static busybox must validate cleanly,
and a real amd64 busybox under an arm64 config must be caught."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from corpus.local_registry import LocalRegistry

from ocimatrix.oci.registry_client import RegistryClient
from ocimatrix.oci.validate import validate_archive, validate_layout, validate_registry

BUSYBOX = Path("/bin/busybox")
TOOLS_MISSING = [t for t in ("umoci", "skopeo") if not shutil.which(t)]
pytestmark = pytest.mark.skipif(
    bool(TOOLS_MISSING) or not BUSYBOX.exists(),
    reason=f"needs umoci, skopeo and busybox-static (missing: {TOOLS_MISSING or 'busybox'})",
)
# Old umoci writes no mediaType (index.json, manifests) and no platform in index.json: SHOULDs of v1.1,
# hence warnings.
TOLERATED_WARNINGS = {"index.media-type-missing", "manifest.media-type-missing", "index.platform-missing"}


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def umoci_image(root: Path, *, arch: str | None = None) -> Path:
    layout, bundle = root / "layout", root / "bundle"
    run("umoci", "init", "--layout", str(layout))
    run("umoci", "new", "--image", f"{layout}:latest")
    run("umoci", "unpack", "--image", f"{layout}:latest", str(bundle))
    (bundle / "rootfs" / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, bundle / "rootfs" / "bin" / "busybox")
    (bundle / "rootfs" / "bin" / "sh").symlink_to("busybox")
    run("umoci", "repack", "--image", f"{layout}:latest", str(bundle))
    config = ["umoci", "config", "--image", f"{layout}:latest", "--config.cmd", "/bin/sh"]
    if arch:
        config += ["--architecture", arch]
    run(*config)
    return layout


@pytest.fixture(scope="module")
def busybox_layout(tmp_path_factory) -> Path:
    return umoci_image(tmp_path_factory.mktemp("umoci"))


def assert_clean(report) -> None:
    errors = [str(v) for v in report.errors]
    assert not errors, errors
    assert {v.rule_id for v in report.warnings} <= TOLERATED_WARNINGS


def test_umoci_layout_is_valid(busybox_layout):
    report = validate_layout(busybox_layout)
    assert_clean(report)
    assert report.checked["layers"] == 1 and report.checked["bytes"] > 500_000


def test_skopeo_docker_archive_and_oci_archive_are_valid(busybox_layout, tmp_path):
    run(
        "skopeo",
        "copy",
        "--insecure-policy",
        f"oci:{busybox_layout}:latest",
        f"docker-archive:{tmp_path}/d.tar:ocimatrix/bb:1",
    )
    run("skopeo", "copy", "--insecure-policy", f"oci:{busybox_layout}:latest", f"oci-archive:{tmp_path}/o.tar")
    docker = validate_archive(tmp_path / "d.tar")
    assert docker.violations == [], [str(v) for v in docker.violations]
    assert docker.checked["layers"] == 1
    assert_clean(validate_archive(tmp_path / "o.tar"))


def test_skopeo_push_as_docker_v2s2_is_valid(busybox_layout, tmp_path):
    registry = LocalRegistry(tmp_path / "reg")
    try:
        ref = f"{registry.host}/tools/busybox:v2s2"
        run(
            "skopeo", "copy", "--insecure-policy", "--dest-tls-verify=false", "--format", "v2s2",
            f"oci:{busybox_layout}:latest", f"docker://{ref}",
        )  # fmt: skip
        with RegistryClient(registry.host, plain_http=True) as client:
            assert (
                client.head_manifest("tools/busybox", "v2s2")[1]
                == "application/vnd.docker.distribution.manifest.v2+json"
            )
        report = validate_registry(ref, plain_http=True)
        assert report.violations == [], [str(v) for v in report.violations]
    finally:
        registry.close()


def test_real_amd64_busybox_under_arm64_config_is_flagged(tmp_path):
    if not BUSYBOX.read_bytes()[:20].startswith(b"\x7fELF") or BUSYBOX.read_bytes()[18] != 62:
        pytest.skip("this check expects the host's busybox to be x86-64")
    report = validate_layout(umoci_image(tmp_path, arch="arm64"))
    mismatch = [v for v in report.violations if v.rule_id == "layer.elf-arch-mismatch"]
    assert mismatch and "x86-64" in mismatch[0].message and "linux/arm64" in mismatch[0].message
