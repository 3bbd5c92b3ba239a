"""The CRI's Version, Status and ImageService, as the kubelet uses them before it runs anything."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from cri_probe import APPLETS, GROUP, PASSWD, UID, USER, USER_FORMS

from ocimatrix.cri.client import CriError
from ocimatrix.cri.messages import shown
from ocimatrix.cri.verdicts import listed_images
from ocimatrix.errors import HarnessError, OcimatrixError, fail_with
from ocimatrix.images.pause import ImageFile, PushedImage, build_busybox_image, push_image
from ocimatrix.plugin.verdicts import skip_unless_started
from ocimatrix.specs import spec


@pytest.fixture(scope="session")
def user_image_refs(endpoints, run_id, worker_cache) -> dict[str, PushedImage]:
    """One image per form of the config's User (critest's four), pushed once per worker. The run's id
    in a label makes each worker's images its own, so no other worker's tag shows up on them."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    cache = worker_cache["cri_user_images"]
    if endpoints.registry not in cache:
        files = [
            ImageFile("etc", None, 0o755),
            ImageFile("etc/passwd", PASSWD.encode()),
            ImageFile("etc/group", GROUP.encode()),
        ]
        pushed = {}
        try:
            for form, (user, _, _) in USER_FORMS.items():
                config = {"Cmd": ["/bin/true"], "User": user, "Labels": {"io.ocimatrix.run": run_id}}
                image = build_busybox_image(config, applets=APPLETS, files=files)
                repository = "ocimatrix/cri/user-" + form.replace(":", "-")
                pushed[form] = push_image(endpoints.registry, repository, run_id, image)
        except HarnessError:
            raise
        except OcimatrixError as exc:
            raise HarnessError(f"could not build and push the CRI user-form images: {exc}") from exc
        cache[endpoints.registry] = pushed
    return cache[endpoints.registry]


@pytest.fixture
def user_images(cri, user_image_refs) -> Iterator[dict[str, PushedImage]]:
    """The user-form images, freshly pulled (as critest: removed first) and removed afterwards."""
    for image in user_image_refs.values():
        cri.remove_image(image.tag_ref)
    for image in user_image_refs.values():
        cri.pull_image(image.tag_ref)
    yield user_image_refs
    for image in user_image_refs.values():
        with contextlib.suppress(CriError):
            cri.remove_image(image.tag_ref)


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
@pytest.mark.parametrize("form", list(USER_FORMS))
@spec("cri/api.proto", "ImageService/ImageStatus (Image.uid, Image.username for each form of the config's User)")
def test_image_status_user_forms(cell, cri, user_images, form, recorder):
    user, uid, username = USER_FORMS[form]
    image = user_images[form]
    status = cri.require_image(image.tag_ref, "after PullImage")
    got_uid = status.uid.value if status.HasField("uid") else None
    recorder.add("image_user", {"config": user, "uid": got_uid, "username": status.username})
    if (got_uid, status.username) != (uid, username):
        # critest reads an unset uid as 0; a uid of 0 for a named user is the same answer to it, not to us.
        fail_with(
            f"the image config's User is {user!r} ({form}): ImageStatus must report uid {uid} and username "
            f"{username!r}, it reports uid {got_uid} and username {status.username!r}",
            step=f"ImageStatus of an image whose User is {form}",
            answer=f"uid: {got_uid}; username: {status.username!r}",
        )


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ImageStatus (by id, by each repo tag and repo digest: one answer)")
def test_image_status_by_every_reference(cell, cri, probe, recorder):
    status = cri.require_image(probe.tag_ref, "of the pulled probe")
    references = [("id", status.id)] + [("repo tag", t) for t in status.repo_tags]
    references += [("repo digest", d) for d in status.repo_digests]
    recorder.add("references", [ref for _, ref in references])
    if not status.repo_digests:
        fail_with(
            f"ImageStatus of {probe.tag_ref} names no repo digest for an image pulled from a registry",
            step="ImageStatus by tag",
            answer=shown(status),
        )
    for kind, ref in references:
        other = cri.require_image(ref, f"by its {kind} {ref}")
        if other != status:
            # As critest: the whole answer, asked by any name the runtime gave the image, is the same.
            fail_with(
                f"ImageStatus by {kind} {ref} differs from ImageStatus by tag {probe.tag_ref} ({shown(status)})",
                step=f"ImageStatus by {kind}",
                answer=shown(other),
            )


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ListImages")
def test_list_images(cell, cri, probe):
    image_id = cri.require_image(probe.tag_ref, "of the pulled probe").id
    images = cri.list_images()
    if image_id not in [image.id for image in images]:
        fail_with(f"ListImages lacks {image_id} ({probe.tag_ref})", step="ListImages", answer=listed_images(images))


@pytest.mark.axes("engine")
@spec("cri/api.proto", "ImageService/ListImages (several different images, each listed with its own tag only)")
def test_list_images_lists_each_pulled_image(cell, cri, user_images):
    # critest pulls three different images under three tags; these are four.
    wanted = {cri.require_image(image.tag_ref, "after PullImage").id: image.tag_ref for image in user_images.values()}
    if len(wanted) != len(user_images):
        fail_with(
            f"{len(user_images)} different images pulled, ImageStatus gives {len(wanted)} ids",
            step="ImageStatus after PullImage",
            answer=", ".join(f"{tag} {image_id}" for image_id, tag in wanted.items()),
        )
    images = cri.list_images()
    listed = {image.id: list(image.repo_tags) for image in images}
    for image_id, tag in wanted.items():
        if listed.get(image_id) != [tag]:
            fail_with(
                f"ListImages must list {image_id} with exactly its one tag {tag}; it lists "
                + (f"tags {listed[image_id]}" if image_id in listed else "no such image"),
                step="ListImages",
                answer=listed_images(images),
            )


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
