"""Render the configuration of a private containerd 1.6 with the CRI plugin on.

Everything the instance owns lives under one state directory with its own sockets, so it runs
beside a system containerd (and other private ones) without sharing images, containers or runc
state. Pods use the node's network, so no CNI is set up: the CRI plugin reports NetworkReady
false, which only matters to pods that want a network of their own.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ocimatrix.errors import UsageError
from ocimatrix.runtime.recording_shim import RECORDING_RUNTIME
from ocimatrix.runtime.recording_shim import install as install_recording_shim
from ocimatrix.tools import catalog

CRI_PLUGIN = "io.containerd.grpc.v1.cri"
# containerd 2.x (config version 3) splits the CRI plugin: images and runtime each have their own
# section; the streaming server stays under CRI_PLUGIN.
CRI_IMAGES_PLUGIN = "io.containerd.cri.v1.images"
CRI_RUNTIME_PLUGIN = "io.containerd.cri.v1.runtime"
# NRI (containerd 1.7 and later; 1.6 has no such plugin and ignores its section).
NRI_PLUGIN = "io.containerd.nri.v1.nri"
# How long containerd waits on a plugin's answer: a test holds a hook for a few seconds while it looks at
# the runtime's state, and a plugin too slow to answer is disconnected with the call going on without it.
NRI_REQUEST_TIMEOUT = "20s"
RUNTIME_TYPE = "io.containerd.runc.v2"  # the shim; runc and crun both run under it

# Snapshotters that log errors on every start where their backing storage is absent.
_UNUSED_PLUGINS = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
)

_REGISTRY_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?")


@dataclass(frozen=True)
class ContainerdLayout:
    """Where a private containerd keeps its things, all under ``state_dir``."""

    state_dir: Path
    socket: Path

    @property
    def config(self) -> Path:
        return self.state_dir / "config.toml"

    @property
    def root(self) -> Path:
        return self.state_dir / "root"

    @property
    def state(self) -> Path:
        return self.state_dir / "state"

    @property
    def ttrpc_socket(self) -> Path:
        return Path(f"{self.socket}.ttrpc")

    @property
    def debug_socket(self) -> Path:
        return self.state_dir / "debug.sock"

    @property
    def certs_dir(self) -> Path:
        return self.state_dir / "certs.d"

    @property
    def runtime_root(self) -> Path:
        # runc's and crun's own state (--root); the shim default /run/containerd/runc is shared.
        return self.state_dir / "runtime-root"

    @property
    def cni_dir(self) -> Path:
        return self.state_dir / "cni"

    @property
    def nri_socket(self) -> Path:
        return self.state_dir / "nri.sock"

    @property
    def nri_dir(self) -> Path:
        # Where containerd would look for plugins to launch itself: empty, never the host's /opt/nri.
        return self.state_dir / "nri"


_VERSION_WORD = re.compile(r"v?(\d+)\.\d+\.\d+")


def config_version(version_output: str) -> int:
    """The config version to write for the containerd whose ``containerd --version`` printed
    ``version_output``: 3 from containerd 2.0 on (2.x reads a version 2 file only by migrating it
    at every start), 2 before."""
    for word in version_output.split()[1:]:
        match = _VERSION_WORD.match(word)
        if match:
            return 3 if int(match[1]) >= 2 else 2
    raise UsageError(f"containerd --version: no version in {version_output.strip()!r}")


def shim_configured(shim: str) -> bool:
    """Whether the harness's containerd gets a runtime handler through ``shim`` (gVisor's): only when
    the shim is installed. The CRI engine asks this before RunPodSandbox instead of waiting for
    containerd's "no runtime for ... is configured"."""
    return shim in installed_shims()


def installed_shims() -> tuple[str, ...]:
    """The shims of their own that the catalog's runtimes need and this host has (Debian 12's runsc
    package ships none of gVisor's): each gets a handler in the harness's containerd."""
    needed = (tool.containerd_shim[1] for tool in catalog.added_runtimes().values() if tool.containerd_shim)
    return tuple(shim for shim in needed if shutil.which(shim) is not None)


def _toml_string(value: str | Path) -> str:
    # A JSON string is a valid TOML basic string for everything json.dumps emits.
    return json.dumps(str(value))


def _check_registry_host(host: str) -> None:
    if not _REGISTRY_HOST.fullmatch(host):
        raise UsageError(f"registry host {host!r}: expected host[:port] such as 127.0.0.1:5000, without scheme or path")


def render_containerd_config(
    state_dir: Path,
    socket: Path,
    sandbox_image: str,
    registry_hosts: list[str],
    *,
    binaries: dict[str, str] | None = None,
    log_level: str = "info",
    extra_binaries: dict[str, str] | None = None,
    shims: tuple[str, ...] = (),
    version: int = 2,
) -> str:
    """The config.toml text (``version`` 2 for containerd 1.x, 3 for 2.x) of a private containerd
    with a runtime handler for each engine runtime of the catalog: the default one through the runc
    shim's own binary, the others through the runc shim with their catalog binary as BinaryName
    (unless ``binaries`` names another), and one that needs a shim of its own only when ``shims``
    holds that shim.

    ``registry_hosts`` are the registries this instance is meant to pull from; their
    ``certs.d/<host>/hosts.toml`` come from ``render_hosts_toml`` (``write_containerd_config``
    writes both). ``sandbox_image`` is the pause image, pulled by containerd on the first pod.
    ``extra_binaries`` adds runc-shim handlers (name -> BinaryName: the recording shim).
    """
    state_dir = Path(state_dir)
    layout = ContainerdLayout(state_dir, Path(socket))
    for host in registry_hosts:
        _check_registry_host(host)
    if not sandbox_image:
        raise UsageError("containerd config: sandbox_image must name the pause image (host/repo:tag)")
    if version not in (2, 3):
        raise UsageError(f"containerd config version {version}: only 2 (containerd 1.x) and 3 (2.x) are written")
    cri = f'plugins."{CRI_PLUGIN}"'
    # Where each setting lives: all in the CRI plugin (version 2), or in its images and runtime parts (3).
    images = f'plugins."{CRI_IMAGES_PLUGIN}"' if version == 3 else cri
    runtimes = f'plugins."{CRI_RUNTIME_PLUGIN}"' if version == 3 else cri
    q = _toml_string
    disabled = ", ".join(q(p) for p in _UNUSED_PLUGINS)
    hosts_comment = ", ".join(registry_hosts) if registry_hosts else "(none)"

    def runtime(name: str, binary: str | None) -> str:
        binary_line = f"\n      BinaryName = {q(binary)}" if binary else ""
        return f"""
  [{runtimes}.containerd.runtimes.{name}]
    runtime_type = {q(RUNTIME_TYPE)}
    [{runtimes}.containerd.runtimes.{name}.options]{binary_line}
      Root = {q(layout.runtime_root / name)}
      SystemdCgroup = false
"""

    def own_shim(name: str, runtime_type: str) -> str:
        return f"""
  [{runtimes}.containerd.runtimes.{name}]
    runtime_type = {q(runtime_type)}
"""

    default = catalog.default_runtime()
    handlers = runtime(default, None)
    for name, tool in catalog.added_runtimes().items():
        if not tool.containerd_shim:
            handlers += runtime(name, (binaries or {}).get(name, tool.binary))
        elif tool.containerd_shim[1] in shims:
            handlers += own_shim(name, tool.containerd_shim[0])
    handlers += "".join(runtime(name, binary) for name, binary in (extra_binaries or {}).items())
    runtime_settings = """  # Without CAP_SYS_RESOURCE (containers, CI runners) the OOM score may only be raised.
  restrict_oom_score_adj = true
  tolerate_missing_hugetlb_controller = true
  enable_selinux = false
"""
    if version == 3:
        # 2.x: the sandbox image is a pinned image, CNI takes a list of binary directories.
        plugins = f"""[{cri}]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[{images}]
  snapshotter = "overlayfs"

[{images}.pinned_images]
  sandbox = {q(sandbox_image)}

[{images}.registry]
  config_path = {q(layout.certs_dir)}

[{runtimes}]
{runtime_settings}
[{runtimes}.containerd]
  default_runtime_name = {q(default)}
{handlers}
[{runtimes}.cni]
  # Empty directories of our own: never pick up the host's CNI networks.
  bin_dirs = [{q(layout.cni_dir / "bin")}]
  conf_dir = {q(layout.cni_dir / "net.d")}
"""
    else:
        plugins = f"""[{cri}]
  sandbox_image = {q(sandbox_image)}
{runtime_settings}  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = {q(default)}
{handlers}
[{cri}.cni]
  # Empty directories of our own: never pick up the host's CNI networks.
  bin_dir = {q(layout.cni_dir / "bin")}
  conf_dir = {q(layout.cni_dir / "net.d")}

[{cri}.registry]
  config_path = {q(layout.certs_dir)}
"""
    return f"""# Private containerd for ocimatrix; generated, edits are overwritten.
# Registries (certs.d/<host>/hosts.toml): {hosts_comment}
version = {version}
root = {q(layout.root)}
state = {q(layout.state)}
disabled_plugins = [{disabled}]

[grpc]
  address = {q(layout.socket)}

[ttrpc]
  address = {q(layout.ttrpc_socket)}

[debug]
  address = {q(layout.debug_socket)}
  level = {q(log_level)}

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = {q(state_dir / "opt")}

# NRI on a socket of this instance's own, for the plugins the CRI suite connects; 1.7 has it off by default.
[plugins."{NRI_PLUGIN}"]
  disable = false
  disable_connections = false
  socket_path = {q(layout.nri_socket)}
  plugin_path = {q(layout.nri_dir / "plugins")}
  plugin_config_path = {q(layout.nri_dir / "conf.d")}
  plugin_registration_timeout = "5s"
  plugin_request_timeout = {q(NRI_REQUEST_TIMEOUT)}

{plugins}"""


def render_hosts_toml(host: str, plain_http: bool = True) -> str:
    """certs.d/<host>/hosts.toml: pull and resolve ``host`` itself, over HTTP unless told otherwise."""
    _check_registry_host(host)
    url = f"{'http' if plain_http else 'https'}://{host}"
    return f"""# Registry {host} for a private ocimatrix containerd; generated.
server = "{url}"

[host."{url}"]
  capabilities = ["pull", "resolve"]
"""


def write_hosts_toml(certs_dir: Path, registry_hosts: list[str], plain_http: bool = True) -> list[Path]:
    written = []
    for host in registry_hosts:
        path = Path(certs_dir) / host / "hosts.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_hosts_toml(host, plain_http))
        written.append(path)
    return written


def write_containerd_config(
    state_dir: Path,
    socket: Path,
    sandbox_image: str,
    registry_hosts: list[str],
    *,
    binaries: dict[str, str] | None = None,
    version: int = 2,
    run_state: Path | None = None,
) -> ContainerdLayout:
    """Write config.toml (``version``: see ``config_version``), the hosts.toml of each registry and
    the empty CNI directories. ``run_state`` is the run's state directory, where its recording shim
    lives (default: the directory holding ``state_dir``)."""
    layout = ContainerdLayout(Path(state_dir), Path(socket))
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    text = render_containerd_config(
        layout.state_dir,
        layout.socket,
        sandbox_image,
        registry_hosts,
        binaries=binaries,
        # The run's recording shim (under the run's state dir, beside this containerd's), for the
        # engine-config comparison.
        extra_binaries={RECORDING_RUNTIME: str(install_recording_shim(run_state or layout.state_dir.parent))},
        shims=installed_shims(),
        version=version,
    )
    layout.config.write_text(text)
    write_hosts_toml(layout.certs_dir, registry_hosts)
    for directory in (
        layout.cni_dir / "bin",
        layout.cni_dir / "net.d",
        layout.nri_dir / "plugins",
        layout.nri_dir / "conf.d",
    ):
        directory.mkdir(parents=True, exist_ok=True)
    return layout
