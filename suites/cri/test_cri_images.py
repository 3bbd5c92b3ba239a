"""The CRI's Version, Status and ImageService, as the kubelet uses them before it runs anything."""

from __future__ import annotations

import pytest
from cri_probe import UID, USER

from ocimatrix.cri.client import CriError
from ocimatrix.cri.messages import shown
from ocimatrix.cri.verdicts import listed_images
from ocimatrix.errors import fail_with
from ocimatrix.specs import spec


@pytest.mark.axes("engine")
@spec("cri/api.proto", "RuntimeService/Version")
def test_version_speaks_v1(cell, cri):
    version = cri.version()
    answer = shown(version)
    if version.runtime_api_version != "v1":
        fail_with(
            f"{cell['engine']} answered Version with runtime_api_version {version.runtime_api_version!r}; "
            "a runtime serving the runtime.v1 API reports 'v1'",
            step="Version",
            answer=answer,
        )
    for name in ("runtime_name", "runtime_version", "version"):  # version: the API version the kubelet checks
        if not getattr(version, name):
            fail_with(f"Version returned no {name}", step="Version", answer=answer)


@pytest.mark.axes("engine")
@spec("cri/api.proto", "RuntimeService/Status (RuntimeReady, NetworkReady)")
def test_status_reports_required_conditions(cell, cri, recorder):
    conditions = cri.conditions()
    recorder.add("conditions", {k: {"status": c.status, "reason": c.reason} for k, c in conditions.items()})
    missing = {"RuntimeReady", "NetworkReady"} - set(conditions)
    assert not missing, f"Status lacks the required condition(s) {sorted(missing)}; got {sorted(conditions)}"
    ready = conditions["RuntimeReady"]
    assert ready.status, f"RuntimeReady is false: {ready.reason}: {ready.message}"
    # NetworkReady is false here on purpose (no CNI network is configured; pods use the node's).


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/PullImage, ImageStatus (by tag)")
def test_pull_by_tag(cell, cri, probe_images):
    image = probe_images.probe
    image_ref = cri.pull_image(image.tag_ref)
    assert image_ref, f"PullImage {image.tag_ref} returned an empty image_ref"
    status = cri.require_image(image.tag_ref, "after PullImage by tag")
    assert image.tag_ref in status.repo_tags, f"repo_tags {list(status.repo_tags)} lack {image.tag_ref}"
    assert image.digest_ref in status.repo_digests, (
        f"repo_digests {list(status.repo_digests)} lack {image.digest_ref}, the manifest the registry served"
    )
    assert status.size > 0, "ImageStatus reports size 0 for a pulled image"


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/PullImage, ImageStatus (by digest)")
def test_pull_by_digest(cell, cri, cri_runtime, probe_images):
    image = probe_images.probe
    cri.pull_image(image.digest_ref)
    by_digest = cri.require_image(image.digest_ref, "after PullImage by digest")
    assert image.digest_ref in by_digest.repo_digests, list(by_digest.repo_digests)
    assert cri_runtime.image_digest(image.digest_ref) == image.manifest_digest
    by_tag = cri.image_status(image.tag_ref)
    if by_tag is not None:  # pulled by tag earlier on this runtime: one image, two names
        assert by_tag.id == by_digest.id, f"tag and digest of one manifest name two images: {by_tag.id} {by_digest.id}"


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/PullImage (an image the registry does not have)")
def test_pull_of_missing_image_fails(cell, cri, probe_images):
    with pytest.raises(CriError) as caught:
        cri.pull_image(probe_images.missing_ref)
    assert caught.value.call == "PullImage"
    assert cri.image_status(probe_images.missing_ref) is None, "a failed pull left an image behind"


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ImageStatus (absent image: image unset, no error)")
def test_image_status_of_absent_image_is_empty(cell, cri, probe_images):
    assert cri.image_status(probe_images.missing_ref) is None


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ImageStatus (Image.uid, Image.username from the config's User)")
def test_image_status_reports_config_user(cell, cri, probe):
    status = cri.require_image(probe.tag_ref, "of the pulled probe")
    # The config says User "ocitest", a name: username carries it and uid stays unset.
    assert status.username == USER, (
        f"ImageStatus username {status.username!r}; "
        f"the image config's User is {USER!r} (uid {UID} in the image's /etc/passwd)"
    )
    assert not status.HasField("uid"), f"uid {status.uid.value} set for a User given by name"


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ListImages")
def test_list_images(cell, cri, probe):
    image_id = cri.require_image(probe.tag_ref, "of the pulled probe").id
    images = cri.list_images()
    if image_id not in [image.id for image in images]:
        fail_with(f"ListImages lacks {image_id} ({probe.tag_ref})", step="ListImages", answer=listed_images(images))


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ListImages (ListImagesRequest.filter: one image by reference)")
def test_list_images_filtered_by_reference(cell, cri, probe):
    image_id = cri.require_image(probe.tag_ref, "of the pulled probe").id
    images = cri.list_images(probe.tag_ref)
    if [image.id for image in images] != [image_id]:
        # The runtime's own list is the answer: what a listed incompatibility is read against.
        fail_with(
            f"ListImages filtered by {probe.tag_ref} did not answer exactly its image {image_id}",
            step="ListImages filtered by reference",
            answer=listed_images(images),
        )


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/RemoveImage (and again: idempotent)")
def test_remove_image(cell, cri, probe_images, probe):
    removable = probe_images.removable
    cri.pull_image(removable.tag_ref)
    cri.require_image(removable.tag_ref, "after PullImage")
    cri.remove_image(removable.tag_ref)
    assert cri.image_status(removable.tag_ref) is None, "ImageStatus still finds the image after RemoveImage"
    assert cri.image_status(removable.digest_ref) is None, "the image is still there under its digest name"
    assert cri.image_status(probe.tag_ref) is not None, "RemoveImage of one image removed another"
    cri.remove_image(removable.tag_ref)  # must not fail: RemoveImage is idempotent


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ImageFsInfo")
def test_image_fs_info(cell, cri):
    filesystems = cri.image_fs_info().image_filesystems
    assert filesystems, "ImageFsInfo reports no image filesystem"
    assert filesystems[0].fs_id.mountpoint, "the image filesystem has no mountpoint"
    assert filesystems[0].timestamp > 0, "the image filesystem usage has no timestamp"
