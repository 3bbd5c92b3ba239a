"""What an engine adds to every container's filesystem, whatever the image holds: the owner and mode of
``/``, ``/run``, ``/etc/hosts``, ``/etc/hostname``, ``/etc/resolv.conf`` and ``/dev/shm``, and the
mounts behind them (type, size, options from ``/proc/mounts``).

These are facts, set side by side on the site (``fs-defaults.html``), not verdicts: no spec says
which mode ``/run`` has or whether ``/etc/hosts`` is a bind mount. Where one speaks, it is said on the
page: runtime-spec's config-linux.md "Default Filesystems" (``/dev/shm`` SHOULD be a tmpfs), a SHOULD,
so recorded, never failed. The cell fails only when the engine could not run the probe at all.
"""

from __future__ import annotations

import pytest

from ocimatrix.engines.base import Engine, RunSpec
from ocimatrix.errors import HarnessError, fail_with
from ocimatrix.images import probe_images
from ocimatrix.images.pause import push_image
from ocimatrix.oci.registry_client import RegistryError
from ocimatrix.plugin.verdicts import run_container, skip_unless_started
from ocimatrix.run_ids import run_token, worker_name
from ocimatrix.specs import spec

EVIDENCE_KEY = "fs_defaults"
SHM_SHOULD = "runtime-spec config-linux.md#default-filesystems: /dev/shm SHOULD be a tmpfs"


@pytest.fixture
def defaults_ref(endpoints, worker_cache) -> str:
    """The defaults probe, pushed once per worker into a repository of its own (two workers PUTting one
    manifest into one repository race in distribution: a pull meeting the rewrite gets a 500)."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    pushed = worker_cache["fs-defaults probe"]
    if "ref" not in pushed:
        tag = f"{worker_name()}-{run_token()}"
        try:
            repository = f"{probe_images.DEFAULTS_REPOSITORY}-{worker_name()}"
            image = push_image(endpoints.registry, repository, tag, probe_images.defaults_image())
        except (RegistryError, OSError) as exc:
            raise HarnessError(f"pushing the filesystem-defaults probe: {exc}") from None
        pushed["ref"] = image.tag_ref
    return pushed["ref"]


@pytest.mark.axes("engine", "runtime")
@spec("runtime-spec/config-linux.md#default-filesystems", "Default Filesystems (and what else an engine provides)")
def test_filesystem_defaults(cell, runner: Engine, defaults_ref: str, worker_cache, recorder) -> None:
    pulled = worker_cache["fs-defaults pulls"]
    if runner.key not in pulled:
        runner.pull(defaults_ref)
        pulled[runner.key] = defaults_ref
    spec_ = RunSpec(image=defaults_ref, runtime=cell["runtime"], timeout=90)
    result = run_container(runner, spec_, recorder, f"{runner.name} could not run the filesystem-defaults probe")
    view = probe_images.parse_defaults(result.stdout)
    if result.exit_code != 0 or set(view.paths) != set(probe_images.DEFAULT_PATHS):
        fail_with(
            f"the filesystem-defaults probe exited {result.exit_code} under {runner.name} and reported "
            f"{len(view.paths)} of {len(probe_images.DEFAULT_PATHS)} paths",
            step=f"{runner.name} run of the filesystem-defaults probe",
            answer=f"exit {result.exit_code}: {result.stdout.strip()[-300:]} {result.stderr.strip()[-300:]}",
        )
    shm = view.mount_options("/dev/shm")
    recorder.add(
        EVIDENCE_KEY,
        {
            "engine": runner.label,
            "runtime": cell["runtime"],
            "paths": view.paths,
            "mounts": view.mounts,
            "dev_shm": shm,
        },
    )
    if shm.get("type") != "tmpfs":
        # A SHOULD: what the engine gave is recorded beside the spec's words, not failed.
        recorder.add("spec_should", f"{SHM_SHOULD}; this container's /dev/shm: {shm or 'no mount of its own'}")
