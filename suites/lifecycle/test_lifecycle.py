"""Build -> push -> pull -> run: does every runner honor the image config the same way?

Each cell is an image built and pushed by one tool, pulled from the registry and run by another
(with runc or crun). The probe image prints what its process was given; the tests compare that
with what the image-spec's config says (``Entrypoint``, ``Cmd``, ``Env``, ``WorkingDir``, ``User``).
"""

from __future__ import annotations

import pytest

from ocimatrix.images import contexts as probe
from ocimatrix.specs import spec

# The registry the image travels through: the embedded one (the default, left out of the cells' ids,
# which predate the axis) or another the engines were told to trust at start (go-containerregistry's).
RUN_AXES = ("builder", "format", "engine", "runtime", "registry")
QUIET = ("registry",)


@pytest.mark.axes("builder", "format", "compression", "engine", "registry", quiet=QUIET)
@spec(
    "distribution-spec/spec.md#pulling-manifests",
    "image-spec §descriptor digests; distribution-spec §pulling manifests",
)
def test_pulled_digest_is_pushed_digest(cell, pulled_image):
    image = pulled_image.get()
    assert image.digest == image.pushed_digest, (
        f"{cell['engine']} recorded manifest {image.digest or '(none)'} for {image.ref}, "
        f"but {cell['builder']} pushed {image.pushed_digest}"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config Entrypoint, Cmd")
def test_process_is_entrypoint_then_cmd(cell, run_probe):
    result, report = run_probe()
    assert result.exit_code == 0, f"the probe exited {result.exit_code}: {result.stderr.strip()[-500:]}"
    assert report.get("argv") == " ".join(probe.CMD), (
        f"{cell['engine']} started the probe with arguments {report.get('argv')!r}; "
        f"Entrypoint {probe.ENTRYPOINT} + Cmd {probe.CMD} means arguments {' '.join(probe.CMD)!r}"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("runtime-spec/runtime.md#lifecycle", "lifecycle (process exit status)")
def test_exit_code_propagates(cell, run_probe):
    result, _ = run_probe(env={"OCIMATRIX_EXIT": "42"})
    assert result.exit_code == 42, (
        f"the container's process exited 42 but {cell['engine']} with {cell['runtime']} reported {result.exit_code}"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config Env")
def test_env_from_config(cell, run_probe):
    _, report = run_probe()
    assert report.get("greeting") == probe.GREETING, (
        f"Env OCIMATRIX_GREETING from the image config reached the process as {report.get('greeting')!r}"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config Env (merged with the runtime's)")
def test_env_override_merges_with_config(cell, run_probe):
    _, report = run_probe(env={"OCIMATRIX_OVERRIDE": "from-the-runner"})
    assert report.get("override") == "from-the-runner", "an environment variable set at run time was lost"
    assert report.get("greeting") == probe.GREETING, (
        "setting one variable at run time dropped the image config's Env "
        f"(OCIMATRIX_GREETING={report.get('greeting')!r})"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config WorkingDir")
def test_workdir_from_config(cell, run_probe):
    _, report = run_probe()
    assert report.get("pwd") == probe.WORKDIR, (
        f"WorkingDir is {probe.WORKDIR} but the process started in {report.get('pwd')!r}"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config WorkingDir (overridden at run time)")
def test_workdir_override(cell, run_probe):
    _, report = run_probe(workdir="/tmp")
    assert report.get("pwd") == "/tmp", f"asked for working directory /tmp, got {report.get('pwd')!r}"


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config User (a name resolved through the image's /etc/passwd)")
def test_user_name_from_config(cell, run_probe):
    _, report = run_probe()
    got = (report.get("uid"), report.get("gid"))
    assert got == (str(probe.UID), str(probe.GID)), (
        f"User {probe.USER!r} is uid {probe.UID} gid {probe.GID} in the image's /etc/passwd, "
        f"but the process ran as uid {got[0]} gid {got[1]}"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config User (uid:gid overridden at run time)")
def test_user_override_numeric(cell, run_probe):
    _, report = run_probe(user="4321:4321")
    got = (report.get("uid"), report.get("gid"))
    assert got == ("4321", "4321"), f"asked to run as 4321:4321, the process ran as uid {got[0]} gid {got[1]}"


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config Cmd (default arguments, replaced at run time)")
def test_args_replace_cmd_keep_entrypoint(cell, run_probe):
    result, report = run_probe(args=["one", "two"])
    assert result.exit_code == 0, f"the probe exited {result.exit_code}: {result.stderr.strip()[-500:]}"
    assert report.get("argv") == "one two", (
        f"arguments ['one', 'two'] given at run time should replace Cmd and keep Entrypoint {probe.ENTRYPOINT}; "
        f"the process got {report.get('argv')!r}"
    )


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec("image-spec/config.md#properties", "config Entrypoint (replaced at run time)")
def test_entrypoint_override_drops_cmd(cell, run_probe):
    result, _ = run_probe(entrypoint=["/bin/echo", "replaced-entrypoint"])
    assert result.exit_code == 0, f"exited {result.exit_code}: {result.stderr.strip()[-500:]}"
    assert result.stdout.strip() == "replaced-entrypoint", (
        "a new Entrypoint given at run time should run without the image's Cmd; "
        f"the process printed {result.stdout.strip()!r}"
    )


@pytest.mark.axes("builder", "format", "engine", "registry", quiet=QUIET)
@spec("image-spec/config.md#properties", "config Labels")
def test_labels_visible_after_pull(cell, runner, pulled_image, recorder):
    labels = runner.image_config(pulled_image.get().ref).get("Labels") or {}
    recorder.add("labels", labels)
    missing = {k: v for k, v in probe.LABELS.items() if labels.get(k) != v}
    assert not missing, f"{cell['engine']} shows labels {labels}; missing or different: {missing}"


@pytest.mark.axes(*RUN_AXES, quiet=QUIET)
@spec(
    "image-spec/descriptor.md#digests",
    "content addressing (a copy keeps the manifest digest); distribution-spec §pushing manifests",
)
def test_built_copied_and_run_by_three_tools(cell, pushed_image, copied_by_skopeo, copied_then_pulled, run_probe):
    """Built and pushed by one tool, copied between repositories by skopeo, pulled and run by a third."""
    original = pushed_image.get()
    image = copied_then_pulled.get()
    assert image.pushed_digest == original.digest, (
        f"skopeo copied {original.ref} ({original.digest}) to {image.ref} but wrote manifest "
        f"{image.pushed_digest}: a copy in the same format must keep the manifest bytes, so the digest"
    )
    assert image.digest == image.pushed_digest, (
        f"{cell['engine']} recorded manifest {image.digest or '(none)'} for {image.ref}, "
        f"skopeo wrote {image.pushed_digest}"
    )
    result, report = run_probe(image=image.ref)
    assert result.exit_code == 0, f"the copied probe exited {result.exit_code}: {result.stderr.strip()[-500:]}"
    assert report.get("argv") == " ".join(probe.CMD) and report.get("greeting") == probe.GREETING, (
        f"{cell['engine']} ran the copy with arguments {report.get('argv')!r} and greeting "
        f"{report.get('greeting')!r}; the config says {' '.join(probe.CMD)!r} and {probe.GREETING!r}"
    )
