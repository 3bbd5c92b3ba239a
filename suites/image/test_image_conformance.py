"""Is every image the tools emit a conformant one? Built and pushed, pulled and saved, copied to a layout.

Each image goes through the validator (``ocimatrix validate``: image-spec v1.1 schemas and rules,
Docker schema 2 for Docker-format images): descriptors, digests and sizes, config, every layer's
compression, tar and diff_id, and the ELF binaries against the config's architecture. A MUST broken
fails the cell, naming the rule, where it broke and the spec section; SHOULDs are recorded as
warnings in the evidence and never fail it.

Axes:
- ``builder``, ``format``, ``compression``: the probe image the builder pushed to the registry,
  as an OCI or Docker schema 2 manifest with gzip or zstd layers.
- ``engine``: the runner that pulled that (gzip) image and saved it back out. The save format is
  in the test's name (OCI archive or docker-archive), ``format`` stays the pushed manifest format,
  so a cell like docker-archive x oci shows a runner converting an OCI image on save.
"""

from __future__ import annotations

import pytest

from ocimatrix.axes import DOCKER_FORMAT
from ocimatrix.errors import OcimatrixError
from ocimatrix.oci.validate import validate_archive, validate_layout, validate_registry
from ocimatrix.plugin.shared_steps import fail_refused
from ocimatrix.specs import spec

LAYOUT_TAG = "probe"


def _validate_cmd(*args: str) -> list[str]:
    return ["ocimatrix", "validate", *args]


@pytest.mark.axes("builder", "format", "compression")
@spec(
    "image-spec/manifest.md#image-manifest-property-descriptions",
    "manifest, §config, §layer (the image as pushed to a registry)",
)
def test_pushed_image_conforms(cell, pushed_image, assert_conforms):
    image = pushed_image.get()
    # By digest: exactly the manifest the builder said it pushed, and the registry must serve it.
    ref = f"{image.ref}@{image.digest}" if image.digest else image.ref
    assert_conforms(
        validate_registry,
        ref,
        plain_http=True,
        made_by=cell["builder"],
        what=f"pushed an image ({cell['format']} manifest, {cell['compression']} layers) that",
        repro=_validate_cmd("--plain-http", ref),
    )


@pytest.mark.axes("builder", "format", "engine")
@spec("image-spec/image-layout.md", "image layout (an OCI archive saved by the runner that pulled the image)")
def test_saved_oci_archive_conforms(cell, saved_archive, assert_conforms):
    archive = str(saved_archive("oci"))
    assert_conforms(
        validate_archive,
        archive,
        made_by=cell["engine"],
        what=f"saved the image it pulled ({cell['builder']}'s, {cell['format']} manifest) as an OCI archive that",
        repro=_validate_cmd(archive),
    )


@pytest.mark.axes("builder", "format", "engine")
@spec(
    "docker-image-spec/spec.md",
    "combined image JSON + filesystem changeset format (docker save); image-spec §config, §layer for its contents",
)
def test_saved_docker_archive_conforms(cell, saved_archive, assert_conforms):
    archive = str(saved_archive(DOCKER_FORMAT))
    assert_conforms(
        validate_archive,
        archive,
        made_by=cell["engine"],
        what=f"saved the image it pulled ({cell['builder']}'s, {cell['format']} manifest) as a docker-archive that",
        repro=_validate_cmd(archive),
    )


@pytest.mark.axes("builder", "format", "compression")
@spec("image-spec/image-layout.md", "image layout (skopeo's copy from the registry)")
def test_skopeo_layout_copy_conforms(cell, pushed_image, skopeo, scratch, assert_conforms):
    image = pushed_image.get()
    layout = scratch / "layout"
    try:
        skopeo.copy(f"docker://{image.ref}", f"oci:{layout}:{LAYOUT_TAG}")
    except OcimatrixError as exc:
        fail_refused(f"skopeo could not copy the {cell['builder']} image to an OCI layout", exc)
    assert_conforms(
        validate_layout,
        str(layout),
        made_by=skopeo.name,
        what=f"copied {cell['builder']}'s image ({cell['format']} manifest) to an OCI layout that",
        repro=_validate_cmd(str(layout)),
    )
