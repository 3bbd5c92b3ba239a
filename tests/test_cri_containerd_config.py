"""The private containerd configuration: valid TOML holding everything under its state dir."""

import tomllib
from pathlib import Path

import pytest

from ocimatrix.cri.containerd_config import (
    config_version,
    render_containerd_config,
    render_hosts_toml,
    write_containerd_config,
)
from ocimatrix.errors import UsageError

STATE = Path("/tmp/ocm-state")
SOCKET = STATE / "containerd.sock"
CRI = "io.containerd.grpc.v1.cri"


def _config(**kwargs) -> dict:
    text = render_containerd_config(STATE, SOCKET, "127.0.0.1:5000/ocimatrix/pause:1", ["127.0.0.1:5000"], **kwargs)
    return tomllib.loads(text)


def test_everything_lives_under_the_state_dir():
    config = _config()
    assert config["version"] == 2
    assert config["root"] == f"{STATE}/root"
    assert config["state"] == f"{STATE}/state"
    assert config["grpc"]["address"] == str(SOCKET)
    assert config["ttrpc"]["address"] == f"{SOCKET}.ttrpc"
    assert config["debug"]["address"] == f"{STATE}/debug.sock"
    assert config["plugins"]["io.containerd.internal.v1.opt"]["path"] == f"{STATE}/opt"
    cri = config["plugins"][CRI]
    assert cri["cni"]["conf_dir"].startswith(f"{STATE}/"), "the host's CNI networks must not leak in"
    assert cri["registry"]["config_path"] == f"{STATE}/certs.d"


def test_cri_plugin_settings():
    cri = _config()["plugins"][CRI]
    assert cri["sandbox_image"] == "127.0.0.1:5000/ocimatrix/pause:1"
    assert cri["restrict_oom_score_adj"] is True
    assert cri["stream_server_address"] == "127.0.0.1"
    assert "disable_cgroup" not in cri


def test_runtime_handlers_runc_and_crun():
    runtimes = _config(binaries={"crun": "/opt/crun"})["plugins"][CRI]["containerd"]["runtimes"]
    assert set(runtimes) == {"runc", "crun"}
    for name, runtime in runtimes.items():
        assert runtime["runtime_type"] == "io.containerd.runc.v2"
        # A private runtime root: the shim's default /run/containerd/runc is shared with other instances.
        assert runtime["options"]["Root"] == f"{STATE}/runtime-root/{name}"
    assert runtimes["crun"]["options"]["BinaryName"] == "/opt/crun"
    assert "BinaryName" not in runtimes["runc"]["options"]
    assert _config()["plugins"][CRI]["containerd"]["default_runtime_name"] == "runc"


def test_paths_with_quotes_stay_valid_toml():
    text = render_containerd_config(Path('/tmp/we"ird\\dir'), Path("/tmp/s.sock"), "h:1/p:1", [])
    assert tomllib.loads(text)["root"] == '/tmp/we"ird\\dir/root'


@pytest.mark.parametrize("host", ["http://127.0.0.1:5000", "127.0.0.1:5000/v2", "", "a b"])
def test_registry_host_must_be_host_and_port(host):
    with pytest.raises(UsageError, match="expected host\\[:port\\]"):
        render_containerd_config(STATE, SOCKET, "127.0.0.1:5000/p:1", [host])


def test_sandbox_image_is_required():
    with pytest.raises(UsageError, match="sandbox_image"):
        render_containerd_config(STATE, SOCKET, "", [])


def test_hosts_toml_plain_http_by_default():
    hosts = tomllib.loads(render_hosts_toml("127.0.0.1:5000"))
    assert hosts["server"] == "http://127.0.0.1:5000"
    assert hosts["host"]["http://127.0.0.1:5000"]["capabilities"] == ["pull", "resolve"]
    assert tomllib.loads(render_hosts_toml("127.0.0.1:5000", plain_http=False))["server"].startswith("https://")


def test_write_containerd_config(tmp_path: Path):
    layout = write_containerd_config(tmp_path / "ctr", tmp_path / "ctr.sock", "127.0.0.1:1/p:1", ["127.0.0.1:1"])
    assert tomllib.loads(layout.config.read_text())["grpc"]["address"] == str(tmp_path / "ctr.sock")
    hosts = layout.certs_dir / "127.0.0.1:1" / "hosts.toml"
    assert tomllib.loads(hosts.read_text())["server"] == "http://127.0.0.1:1"
    assert (layout.cni_dir / "net.d").is_dir() and not any((layout.cni_dir / "net.d").iterdir())


def test_streaming_server_only_on_loopback():
    """Exec, Attach and PortForward sessions are served where the config says: 127.0.0.1, a port the
    kernel picks, plain HTTP (no certificate to manage); an empty address would be the node's IP."""
    cri = _config()["plugins"][CRI]
    assert cri["stream_server_address"] == "127.0.0.1"
    assert cri["stream_server_port"] == "0"
    assert cri.get("enable_tls_streaming", False) is False


# What each containerd printed for `containerd --version` here (Debian 12, trixie, sid), and the shape
# of a release build's (a "v" before the version, a commit after it).
VERSION_OUTPUTS = {
    "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n": 2,
    "containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1\n": 2,
    "containerd github.com/containerd/containerd/v2 2.1.9+unknown \n": 3,
    "containerd containerd.io v2.0.0 0123456789abcdef0123456789abcdef01234567\n": 3,
}


@pytest.mark.parametrize(("output", "version"), VERSION_OUTPUTS.items())
def test_config_version_follows_the_major_version(output, version):
    assert config_version(output) == version


def test_config_version_without_a_version_is_a_clear_error():
    with pytest.raises(UsageError, match="no version in 'containerd: command not found'"):
        config_version("containerd: command not found")
    with pytest.raises(UsageError, match="only 2 .* and 3"):
        _config(version=4)


def test_version_3_splits_the_cri_plugin_as_containerd_2_reads_it():
    """Checked against containerd 2.1.9's own `config dump` of this file (sid's root): each setting
    lands where version 2 had it, with nothing left to migrate at start."""
    config = _config(version=3, shims=("containerd-shim-runsc-v1",))
    assert config["version"] == 3
    plugins = config["plugins"]
    assert plugins[CRI] == {"stream_server_address": "127.0.0.1", "stream_server_port": "0"}
    images = plugins["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == "127.0.0.1:5000/ocimatrix/pause:1"
    assert images["registry"]["config_path"] == f"{STATE}/certs.d"
    assert images["snapshotter"] == "overlayfs"
    runtime = plugins["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True
    assert runtime["cni"] == {"bin_dirs": [f"{STATE}/cni/bin"], "conf_dir": f"{STATE}/cni/net.d"}
    runtimes = runtime["containerd"]["runtimes"]
    assert set(runtimes) == {"runc", "crun", "runsc"}
    assert runtimes["runc"]["options"]["Root"] == f"{STATE}/runtime-root/runc"
    assert runtime["containerd"]["default_runtime_name"] == "runc"
    # Everything else is where version 2 has it.
    two = _config()
    for key in ("root", "state", "grpc", "ttrpc", "debug", "disabled_plugins"):
        assert config[key] == two[key]
