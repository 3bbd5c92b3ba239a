"""Podman and buildah need no daemon: a storage root, a runroot and two config files of their own."""

from __future__ import annotations

from pathlib import Path

CONTAINERS_CONF = """\
[containers]
# The VM lacks CAP_SYS_RESOURCE: podman's default ulimits make crun/runc fail with
# "setrlimit RLIMIT_NOFILE: Operation not permitted".
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{dir}/events.log"
tmp_dir = "{dir}/tmp"
runtime = "runc"
"""

REGISTRIES_CONF = """\
unqualified-search-registries = []
short-name-mode = "enforcing"
{entries}"""

REGISTRY_ENTRY = """
[[registry]]
location = "{host}"
insecure = true
"""


def write_podman_config(state_dir: Path, insecure_registries: list[str]) -> dict[str, str]:
    """Write the files and return the environment podman/buildah/skopeo run with."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "tmp").mkdir(exist_ok=True)
    conf = state_dir / "containers.conf"
    conf.write_text(CONTAINERS_CONF.format(dir=state_dir))
    registries = state_dir / "registries.conf"
    entries = "".join(REGISTRY_ENTRY.format(host=h) for h in insecure_registries)
    registries.write_text(REGISTRIES_CONF.format(entries=entries))
    storage = state_dir / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "overlay"\nrunroot = "{state_dir / "runroot"}"\ngraphroot = "{state_dir / "root"}"\n'
    )
    return {
        "CONTAINERS_CONF": str(conf),
        "CONTAINERS_REGISTRIES_CONF": str(registries),
        "CONTAINERS_STORAGE_CONF": str(storage),
        "TMPDIR": str(state_dir / "tmp"),
    }
