"""The layer writer of the layers suite: the tars it writes, what applying them must give (layer.md), how
a container's probe output is read and compared. No engine here: the suite runs the images."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from ocimatrix.images import layer_shapes as shapes
from ocimatrix.images.layer_shapes import Entry, Layer
from ocimatrix.oci import mediatypes

BASE = Layer((Entry("bin", "dir"), Entry("bin/sh", data=b"sh\n", mode=0o755))).tar()


def tree_of(shape: shapes.Shape) -> dict[str, shapes.Node]:
    return shapes.expected_tree([BASE, *shape.uncompressed()])


def names(raw: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return [m.name for m in tar]


def test_whiteouts_hide_the_lower_file_and_directory():
    tree = tree_of(shapes.whiteouts())
    assert "w/keep" in tree and "w/gone" not in tree
    assert not [p for p in tree if p.startswith("w/dir")]
    assert not [p for p in tree if ".wh." in p], "whiteouts themselves are never part of the tree"


@pytest.mark.parametrize("directory", ["first", "last"])
def test_opaque_marker_hides_lower_entries_only_wherever_it_is(directory):
    tree = tree_of(shapes.opaque())
    assert f"{directory}/new" in tree
    assert f"{directory}/old" not in tree and f"{directory}/sub" not in tree


def test_opaque_marker_position_in_the_tar():
    upper = names(shapes.opaque().uncompressed()[1])
    assert upper.index(f"first/{shapes.OPAQUE}") < upper.index("first/new")
    assert upper.index(f"last/{shapes.OPAQUE}") > upper.index("last/new")


@pytest.mark.parametrize("whiteout", ["before", "after"])
def test_whiteout_of_its_own_layer_hides_nothing(whiteout):
    shape = shapes.whiteout_same_layer(whiteout)
    upper = names(shape.uncompressed()[1])
    assert (upper.index("s/.wh.own") > upper.index("s/own")) == (whiteout == "after")
    assert "s/own" in tree_of(shape)


def test_hardlinks_share_one_node():
    tree = tree_of(shapes.hardlink_in_layer())
    assert tree["h/same"] is tree["h/orig"]
    assert shapes.link_count(tree, tree["h/orig"]) == 2
    across = tree_of(shapes.hardlink_across_layers())
    assert across["h/cross"] is across["h/orig"]


def test_owners_and_modes_reach_the_headers():
    with tarfile.open(fileobj=io.BytesIO(shapes.owners_and_modes().uncompressed()[0])) as tar:
        members = {m.name: m for m in tar}
    assert (members["o/high"].uid, members["o/high"].gid) == (shapes.HIGH_UID, shapes.HIGH_GID)
    assert members["o/setuid"].mode == 0o4755 and members["o/sticky"].mode == 0o1777


def test_long_names_and_targets_round_trip():
    raw = shapes.long_names().uncompressed()[0]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name: m for m in tar}
    assert f"l/{shapes.LONG_FILE}" in members and len(shapes.LONG_FILE) > 255
    assert len(members["l/longlink"].linkname) > 100


def test_symlink_escape_names_the_host_paths_to_check():
    shape = shapes.symlink_escape("/var/tmp/sentinel")
    assert "/var/tmp/sentinel/through-absolute" in shape.escape_targets
    assert f"/{shapes.PARENT_ESCAPE}" in shape.escape_targets


def test_same_layer_twice_reapplies_after_the_hiding_layer():
    shape = shapes.same_layer_twice()
    raws = shape.uncompressed()
    assert raws[0] == raws[2]
    assert "t/file" in tree_of(shape)


def test_many_layers_top_is_the_last_layer():
    shape = shapes.many_layers(7)
    assert len(shape.layers) == 6, "the base layer makes the seventh"
    tree = shapes.expected_tree(shape.uncompressed())
    assert tree["n/top"].data == b"6\n" and "n/6" in tree


def test_image_blobs_digests_and_media_types():
    image = shapes.build_shape_image(shapes.zero_byte_layer(), "linux/arm64", base=BASE)
    manifest = json.loads(image.manifest)
    config = json.loads(image.config)
    assert len(manifest["layers"]) == len(config["rootfs"]["diff_ids"]) == 3
    zero = manifest["layers"][1]
    assert zero["size"] == 0 and zero["mediaType"] == mediatypes.OCI_LAYER_TAR
    assert manifest["layers"][2]["mediaType"] == mediatypes.OCI_LAYER_TAR_GZIP
    assert config["architecture"] == "arm64"
    assert config["config"]["Cmd"] == ["/zero-byte"]
    again = shapes.build_shape_image(shapes.zero_byte_layer(), "linux/arm64", base=BASE)
    assert again.digest == image.digest, "the writer is reproducible"


def test_push_refuses_a_registry_off_this_host():
    image = shapes.build_shape_image(shapes.empty_tar_layer(), "linux/amd64", base=BASE)
    with pytest.raises(Exception, match="127.0.0.1"):
        shapes.push_shape_image("registry.example.com:5000", image, "t")


PROBE = "\n".join(
    [
        "/w/keep|regular file:0:0:644:1:5:42|kept ",
        "/w/gone|missing",
        "/h/orig|regular file:0:0:640:2:10:7|one inode ",
        "/h/same|regular file:0:0:640:2:10:7|one inode ",
        "/l|symbolic link:0:0:777:1:4:9|/tmp",
        "/d|directory:100000:165536:2775:2:4096:3|a,b,",
        "/bad|regular file:x",
    ]
)


def test_probe_lines_are_read_back():
    seen = shapes.parse_probe(PROBE)
    assert not seen["/w/gone"].exists
    assert seen["/w/keep"].what == "kept " and seen["/w/keep"].mode == 0o644
    assert seen["/d"].uid == 100000 and seen["/d"].mode == 0o2775 and seen["/d"].what == "a,b,"
    assert seen["/l"].kind == "symbolic link" and seen["/l"].what == "/tmp"
    assert seen["/bad"].kind.startswith("unreadable")


def test_container_view_matching_the_layers_has_no_mismatch():
    tree = tree_of(shapes.hardlink_in_layer())
    seen = shapes.parse_probe(PROBE)
    assert shapes.mismatches(tree, seen, ("/h/orig", "/h/same"), nlink=True) == []


def test_mismatches_name_what_differs():
    tree = tree_of(shapes.whiteouts())
    seen = shapes.parse_probe(
        "/w/keep|regular file:1:1:600:1:4:1|kept\n/w/gone|regular file:0:0:644:1:5:2|gone \n/w/dir|missing"
    )
    found = shapes.mismatches(tree, seen, ("/w/keep", "/w/gone", "/w/dir", "/w/.wh.gone"))
    text = "; ".join(found)
    assert "owner 1:1" in text and "mode 600" in text and "content 'kept'" in text
    assert "/w/gone: present (regular file), the layers hide it" in text
    assert "/w/.wh.gone: the probe printed nothing" in text
    assert not any(m.startswith("/w/dir") for m in found), "a hidden directory that is missing is right"


def test_capability_lines_are_read_back():
    out = (
        "/x/busybox|regular file:0:0:755:1:9:1|sha256:ab\n"
        "caps|CapEff: 0000000000000000 CapBnd: 00000000a80425fb NoNewPrivs: 0 \n"
        "caps-after-exec|CapEff: 0000000000000400 \n"
    )
    caps = shapes.probe_caps(out)
    assert shapes.cap_field(caps["caps"], "CapBnd") & shapes.CAP_NET_BIND_SERVICE
    assert shapes.cap_field(caps["caps"], "NoNewPrivs") == 0
    assert shapes.cap_field(caps["caps-after-exec"], "CapEff") == shapes.CAP_NET_BIND_SERVICE
    assert shapes.cap_field("CapEff: zz", "CapEff") is None


def test_xattrs_shape_runs_as_a_user_and_names_the_capable_binary():
    image = shapes.build_shape_image(shapes.xattrs(b"\x7fELF binary"), "linux/amd64", base=BASE)
    config = json.loads(image.config)["config"]
    assert config["User"] == "1000:1000"
    assert f"{shapes.CAPS_ENV}=/x/busybox" in config["Env"]
    assert shapes.shown_content(b"x" * 201).startswith("sha256:")
