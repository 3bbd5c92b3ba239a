"""A generation's namespace and daemons: the commands and configs, without starting anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ocimatrix.errors import HarnessError
from ocimatrix.generations import namespace
from ocimatrix.generations.namespace import GenerationHost, StopReport
from ocimatrix.host import generation_daemons as daemons


def test_holder_binds_the_root_onto_itself_first():
    argv = namespace.holder_command(Path("/cache/roots/trixie/rootfs"), Path("/var/tmp/ocimatrix-x/gen"))
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    assert argv[-2:] == ["/cache/roots/trixie/rootfs", "/var/tmp/ocimatrix-x/gen"]
    lines = argv[argv.index("-c") + 1].splitlines()
    assert lines[2] == 'mount --bind "$root" "$root"'
    assert '  mount --make-rslave "$root/$fs"' in lines
    assert 'mount --bind "$state" "$root$state"' in lines
    assert lines[-1] == "exec sleep infinity"


def test_holder_makes_the_root_the_namespaces_own_root():
    # Not a chroot: setns (nsenter, runc exec, crun exec) lands at the namespace's root mount, so a
    # container pivoted from a chroot would be exec'd into the host's / ("chdir to /srv/cri" in ExecSync).
    argv = namespace.holder_command(Path("/r"), Path("/var/tmp/ocimatrix-x/gen"))
    lines = argv[argv.index("-c") + 1].splitlines()
    pivot = lines.index("pivot_root . .")
    assert lines[pivot - 1] == 'cd "$root"' and lines[pivot + 1] == "umount -l ."
    assert pivot > lines.index('mount --bind "$state" "$root$state"')


def test_cli_enters_the_namespace_whose_root_is_the_generations():
    assert namespace.enter_command(42, Path("/r"), ["podman", "version"]) == [
        "nsenter",
        "--mount=/proc/42/ns/mnt",
        "podman",
        "version",
    ]


def test_state_under_a_scratch_dir_adds_nothing_to_the_root(tmp_path):
    assert namespace.missing_ancestors(tmp_path, Path("/var/tmp/ocimatrix-1/trixie")) == []
    assert namespace.missing_ancestors(tmp_path, Path("/tmp/x")) == []
    (tmp_path / "srv").mkdir()
    assert namespace.missing_ancestors(tmp_path, Path("/srv/state/trixie")) == [
        tmp_path / "srv" / "state",
        tmp_path / "srv" / "state" / "trixie",
    ]


def test_namespace_members_include_descendants():
    own = namespace.mount_namespace(os.getpid())
    assert own.startswith("mnt:[")
    # The test process itself is never listed (it would kill itself); its parent shares the namespace.
    members = namespace.processes_in_namespace(own)
    assert os.getpid() not in members and os.getppid() in members


def test_unstarted_host_says_so(tmp_path):
    host = GenerationHost("trixie", tmp_path / "rootfs", tmp_path / "state")
    with pytest.raises(HarnessError, match="namespace is not started"):
        host.cli(["true"])
    assert host.stop().clean


def test_missing_root_is_a_harness_error_naming_provision(tmp_path):
    with pytest.raises(HarnessError, match=r"no prepared root at .*rootfs \(ocimatrix provision\)"):
        GenerationHost("trixie", tmp_path / "rootfs", tmp_path / "state").start()


def test_stop_report_clean_only_without_leftovers():
    assert StopReport().clean
    assert not StopReport(leftover_mounts=["/x"]).clean
    assert not StopReport(leftover_processes=[1]).clean


def test_dockerd_follows_the_network_rule_with_its_own_containerd(tmp_path):
    argv = daemons.dockerd_argv(tmp_path, tmp_path / "daemon.json", tmp_path / "c.sock")
    network_rule = {"--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false"}
    network_rule.add("--userland-proxy=false")
    assert network_rule <= set(argv)
    assert argv[argv.index("--containerd") + 1] == str(tmp_path / "c.sock")
    assert argv[argv.index("--host") + 1] == f"unix://{tmp_path / 'docker.sock'}"


def test_dockerd_config_names_the_roots_runtimes():
    config = daemons.dockerd_config(["127.0.0.1:5000"], lambda path: True)
    assert config["insecure-registries"] == ["127.0.0.1:5000"]
    assert config["runtimes"] == {
        "crun": {"path": "/usr/bin/crun"},
        "runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]},  # as engines pass it
    }
    assert "runsc" not in daemons.dockerd_config([], lambda path: not path.endswith("/runsc"))["runtimes"]
    assert config["default-ulimits"]["nofile"]["Hard"] == 1024
