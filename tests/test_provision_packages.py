"""What provisioning installs: the distribution's packages, except where Docker's own packages serve."""

from __future__ import annotations

from ocimatrix.system import distro, packages


def _survey(distribution, installed: set[str], binaries: set[str]) -> packages.Survey:
    return packages.survey(
        distribution,
        is_installed=lambda name: name in installed,
        which=lambda binary: f"/usr/bin/{binary}" if binary in binaries else None,
    )


ALL_UBUNTU = {r.package for r in distro.UBUNTU_24_04.requirements}


def test_github_runner_docker_is_left_alone() -> None:
    # The runner image: Docker's docker-ce and containerd.io (which ships runc), Ubuntu's podman & co.
    installed = {"docker-ce", "docker-ce-cli", "containerd.io", "podman", "buildah", "skopeo", "crun"}
    found = _survey(distro.UBUNTU_24_04, installed, {"dockerd", "containerd", "runc", "ctr"})
    assert not {"docker.io", "containerd", "runc"} & set(found.missing)
    assert found.provided_by_vendor == {
        "docker.io": "dockerd from docker-ce",
        "containerd": "containerd from containerd.io",
        "runc": "runc from containerd.io",
    }
    assert set(found.missing) == {
        "umoci",
        "docker-registry",
        "busybox-static",
        "qemu-user-static",
        "binfmt-support",
        "debootstrap",  # the generation roots, from the Debian mirror the nightly names
        "debian-archive-keyring",
    }
    assert found.optional_missing == ["runsc"]  # Ubuntu's runsc is only known on paper


def test_a_vendor_package_without_its_binary_does_not_count() -> None:
    found = _survey(distro.UBUNTU_24_04, {"docker-ce"}, set())
    assert "docker.io" in found.missing and "docker.io" not in found.provided_by_vendor


def test_bare_debian_needs_everything() -> None:
    found = _survey(distro.DEBIAN_12, set(), set())
    assert found.missing == [r.package for r in distro.DEBIAN_12.requirements]
    assert found.optional_missing == [] and found.provided_by_vendor == {}


def test_fully_provisioned_ubuntu_needs_nothing() -> None:
    found = _survey(distro.UBUNTU_24_04, ALL_UBUNTU, set())
    assert (found.missing, found.optional_missing, found.provided_by_vendor) == ([], [], {})


def test_required_keeps_debian_names() -> None:
    assert packages.REQUIRED["docker.io"] == "dockerd" and packages.REQUIRED["busybox-static"] == "busybox"


def test_heartbeat_speaks_only_when_nothing_else_did() -> None:
    lines: list[str] = []
    with packages.Heartbeat(lines.append, "apt-get install", every=0.0) as beat:
        beat.touch()
        import time

        time.sleep(1.3)
    assert lines and all("apt-get install: still running" in line for line in lines)
    quiet: list[str] = []
    with packages.Heartbeat(quiet.append, "apt-get install", every=60.0):
        pass
    assert quiet == []
