"""Copies keep the image: each layer shape, copied by skopeo, crane and the engines' save, read back.

A copy that keeps the format (registry to registry, registry to an OCI layout, an engine's store to
an OCI archive) must keep every digest: image-spec names content by digest, so a manifest that comes
out different is another image. A tool that rewrites a layer, the config or the manifest without
being asked fails, naming what changed (the answer: the digests before and after). A copy that
changes the format (a docker-archive) can't keep them: what it wrote is recorded, not judged.
"""

from __future__ import annotations

import pytest

from ocimatrix.axes import DOCKER_FORMAT, OCI_FORMAT
from ocimatrix.engines.base import Engine
from ocimatrix.errors import EngineError, OcimatrixError, Unsupported, fail_with
from ocimatrix.images import copies
from ocimatrix.plugin.shared_steps import fail_refused
from ocimatrix.plugin.verdicts import is_harness_fault
from ocimatrix.specs import spec

SAME_FORMAT = "image-spec/descriptor.md#digests"


def expect_kept(tool: str, how: str, before: copies.ImageDigests, after: copies.ImageDigests, recorder) -> None:
    __tracebackhide__ = True
    recorder.add("digests", {"before": before.summary(), "after": after.summary()})
    changed = copies.changes(before, after)
    if changed:
        fail_with(
            f"{tool} {how} rewrote what it was asked to copy: " + "; ".join(changed),
            step=f"{tool} {how}",
            answer=f"before: {before.summary()}; after: {after.summary()}",
        )


def copied(action, message: str) -> None:
    """Run a copier's action; its refusal fails the cell with its words, a harness fault stays one."""
    __tracebackhide__ = True
    try:
        action()
    except Unsupported as exc:
        pytest.skip(str(exc))
    except EngineError as exc:
        if is_harness_fault(exc):
            raise
        fail_refused(message, exc)


@pytest.mark.axes("registry")
@spec(SAME_FORMAT, "a copy to another repository keeps every digest")
def test_copy_to_another_repository(copier, source, target, read_registry, shape, recorder):
    ref, before = source
    dest = target(copier.label)
    copied(
        lambda: copier.copy(f"docker://{ref}", f"docker://{dest}"), f"{copier.label} could not copy layer shape {shape}"
    )
    expect_kept(copier.label, "copy registry -> registry", before, read_registry(dest), recorder)


@pytest.mark.axes("registry")
@spec(SAME_FORMAT, "skopeo copy to an OCI layout keeps every digest")
def test_skopeo_copy_to_an_oci_layout(skopeo, source, scratch, shape, recorder):
    ref, before = source
    layout = scratch / "layout"
    copied(
        lambda: skopeo.copy(f"docker://{ref}", f"oci:{layout}:{shape}"), f"skopeo could not copy layer shape {shape}"
    )
    try:
        after = copies.of_layout(layout)
    except (OcimatrixError, OSError, ValueError) as exc:
        fail_with(
            f"skopeo's OCI layout of {shape} can't be read back: {exc}", step="skopeo copy -> oci:", answer=str(exc)
        )
    expect_kept(skopeo.label, "copy docker:// -> oci:", before, after, recorder)


@pytest.mark.axes("registry")
@spec("image-spec/image-layout.md#content", "skopeo copy to a docker-archive (another format: recorded)")
def test_skopeo_copy_to_a_docker_archive_is_recorded(skopeo, source, scratch, shape, recorder):
    ref, before = source
    archive = scratch / "image.tar"
    copied(
        lambda: skopeo.copy(f"docker://{ref}", f"docker-archive:{archive}:ocimatrix/{shape}:copy"),
        f"skopeo could not write layer shape {shape} as a docker-archive",
    )
    try:
        view = copies.of_archive(archive)
    except (OcimatrixError, OSError, ValueError) as exc:
        fail_with(
            f"skopeo's docker-archive of {shape} can't be read: {exc}",
            step="skopeo copy -> docker-archive:",
            answer=str(exc),
        )
    recorder.add("format_changed", "docker-archive: the manifest is the archive's own, digests are not compared")
    recorder.add("archive", {"kind": view.kind, "before": before.summary(), "manifest.json": view.docker_manifest})


@pytest.mark.axes("engine")
@spec(SAME_FORMAT, "an engine's save to an OCI archive keeps every digest (a docker-archive: recorded)")
def test_engine_save_keeps_the_image(cell, runner: Engine, source, scratch, shape, recorder):
    ref, before = source
    copied(lambda: runner.pull(ref), f"{runner.name} could not pull layer shape {shape}")
    archive = scratch / "saved.tar"
    fmt = OCI_FORMAT if runner.supports("save", OCI_FORMAT) else DOCKER_FORMAT
    # Nothing is removed: the stores share equal layers between workers, and a removal could take one
    # from under another worker's pull of the same shape.
    try:
        copied(lambda: runner.save(ref, archive, format=fmt), f"{runner.name} could not save layer shape {shape}")
        view = copies.of_archive(archive)
    except (OcimatrixError, OSError, ValueError) as exc:
        fail_with(
            f"{runner.name}'s archive of {shape} can't be read: {exc}", step=f"{runner.name} save", answer=str(exc)
        )
    recorder.add("archive_kind", view.kind)
    if fmt != OCI_FORMAT or view.digests is None:
        recorder.add("format_changed", f"{runner.name} saves a {view.kind} ({runner.why_not('save', OCI_FORMAT)})")
        recorder.add("archive", {"before": before.summary(), "manifest.json": view.docker_manifest})
        return
    expect_kept(runner.name, "save (OCI archive)", before, view.digests, recorder)


@pytest.mark.axes("engine")
@spec(SAME_FORMAT, "an engine's save, loaded back, gives the same image (config, and manifest where it keeps one)")
def test_engine_load_gives_back_the_image(cell, runner: Engine, source, scratch, shape, keep_ref, recorder):
    ref, before = source
    # The same image under a second tag, pulled first and kept: removing ``ref`` only untags it, so no
    # layer leaves the store while another worker pulls the same shape.
    copied(lambda: runner.pull(keep_ref), f"{runner.name} could not pull layer shape {shape}")
    copied(lambda: runner.pull(ref), f"{runner.name} could not pull layer shape {shape}")
    archive = scratch / "saved.tar"
    fmt = OCI_FORMAT if runner.supports("save", OCI_FORMAT) else DOCKER_FORMAT
    try:
        copied(lambda: runner.save(ref, archive, format=fmt), f"{runner.name} could not save layer shape {shape}")
        saved = copies.of_archive(archive)
        runner.remove_image(ref)
        copied(lambda: runner.load(archive), f"{runner.name} could not load its own archive of layer shape {shape}")
        # The store's answers after the load: the manifest it lists for the name must be the archive's or
        # the pulled one (the kept tag's: the same image), and the image ID the config's where the engine
        # reads it from the store (ctr tells its config only while pulling: the manifest stands for it).
        listed = runner.image_digest(ref)
        try:
            image_id = runner.resolved_image(ref).config_digest
        except Unsupported:
            image_id = before.config
    except (OcimatrixError, OSError, ValueError) as exc:
        if isinstance(exc, EngineError) and not is_harness_fault(exc):
            fail_refused(f"{runner.name} has no {ref} after loading its own archive", exc)
        if isinstance(exc, OcimatrixError) and is_harness_fault(exc):
            raise
        unread = f"{runner.name}'s save and load of {shape} can't be read back: {exc}"
        fail_with(unread, step=f"{runner.name} save and load", answer=str(exc))
    manifests = {before.manifest, *([saved.digests.manifest] if saved.digests is not None else [])}
    recorder.add("loaded", {"manifest": listed, "image_id": image_id, "archive_format": fmt})
    wrong = []
    if listed and listed not in manifests:
        wrong.append(f"manifest {listed}, neither the pulled nor the archive's ({', '.join(sorted(manifests))})")
    if image_id != before.config:
        wrong.append(f"image ID {image_id}, not the config {before.config}")
    if wrong:
        fail_with(
            f"{runner.name} saved layer shape {shape} and loaded it back as another image: " + "; ".join(wrong),
            step=f"{runner.name} load",
            answer=f"after the load: manifest {listed or '(none listed)'}, image ID {image_id}",
        )
