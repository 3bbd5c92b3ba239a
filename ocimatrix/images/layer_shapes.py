"""Layer changesets of every shape image-spec's layer.md describes (and some it forbids), written here.

Each shape is a small image: the harness's busybox base layer, then the shape's own layers, written
entry by entry with Python's tarfile (whiteouts, opaque markers, hardlinks, high ids, mode bits, PAX
xattrs and long names, symlinks leaving the root, empty and zero-byte layers, repeated layers, many
layers). Nothing here comes from a builder: the bytes are exactly what the shape needs, reproducibly.

Beside the blobs, ``expected_tree`` applies the layers the way layer.md says a changeset is applied
(whiteouts and opaque markers hide the lower layers only, later layers win), so a test can compare
what a container shows with what the layers say.

The image's entrypoint is a busybox shell script that prints one line per path named in its Cmd
(``PROBE_FORMAT``); ``parse_probe`` reads them back.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ocimatrix.images.busybox import host_platform_name
from ocimatrix.images.pause import busybox_layer, check_loopback
from ocimatrix.oci import mediatypes
from ocimatrix.oci.registry_client import RegistryClient

REPOSITORY = "ocimatrix/layers"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
PROBE_APPLETS = ("sh", "stat", "cat", "ls", "readlink", "tr", "grep", "sha256sum")
# One line per path: "<path>|missing" or "<path>|<stat>|<what>", <what> being a regular file's content
# (newlines as spaces; "sha256:<hex>" above 200 bytes), a symlink's target or a directory's entries.
PROBE_SCRIPT = r"""
for p in "$@"; do
  if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo "$p|missing"; continue; fi
  s=$(stat -c '%F:%u:%g:%a:%h:%s:%i' "$p")
  if [ -L "$p" ]; then w=$(readlink "$p")
  elif [ -d "$p" ]; then w=$(ls -A "$p" | tr '\n' ',')
  elif [ "$(stat -c %s "$p")" -gt 200 ]; then h=$(sha256sum "$p"); w="sha256:${h%% *}"
  else w=$(tr '\n' ' ' < "$p"); fi
  echo "$p|$s|$w"
done
if [ -n "$OCIMATRIX_CAPS_OF" ]; then
  echo "caps|$(grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr '\t\n' ' ')"
  echo "caps-after-exec|$("$OCIMATRIX_CAPS_OF" grep -E '^CapEff:' /proc/self/status | tr '\t\n' ' ')"
fi
"""
# The image's env names a busybox copy that carries security.capability: the probe, run as a user
# without capabilities, executes it and prints what the kernel granted (the only way to see the xattr
# from inside: busybox has no getfattr).
CAPS_ENV = "OCIMATRIX_CAPS_OF"
# security.capability v2: cap_net_bind_service (bit 10) permitted and effective.
CAP_NET_BIND_SERVICE = 1 << 10
CAPABILITY_XATTR = bytes.fromhex("01000002" + "00040000" + "00000000" + "00000000" + "00000000")
HIGH_UID, HIGH_GID = 100000, 165536
# Around the overlay limits (docker refuses more than 125 layers, podman runs up to 128): 100 to 130
# layers cost ~3 minutes of pulls over eight engines, so they run in the nightly matrix only.
MANY_LAYERS = (100, 126, 127, 128, 129, 130)
MANY_LAYERS_MATRIX = "nightly"


@dataclass(frozen=True)
class Entry:
    """One tar entry of a layer. ``kind``: file, dir, symlink, hardlink (``link`` is the target)."""

    path: str
    kind: str = "file"
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    link: str = ""
    xattrs: dict[str, bytes] = field(default_factory=dict)

    def tarinfo(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.path)
        info.type = {
            "file": tarfile.REGTYPE,
            "dir": tarfile.DIRTYPE,
            "symlink": tarfile.SYMTYPE,
            "hardlink": tarfile.LNKTYPE,
        }[self.kind]
        default = {"dir": 0o755, "symlink": 0o777}.get(self.kind, 0o644)
        info.mode = default if self.mode is None else self.mode
        info.size = len(self.data) if self.kind == "file" else 0
        info.linkname = self.link
        info.mtime = 0
        info.uid, info.gid = self.uid, self.gid
        info.uname = info.gname = ""
        if self.xattrs:
            # How GNU tar and the container tools carry xattrs: SCHILY.xattr.<name> PAX records. The
            # value is raw bytes; tarfile writes PAX values as UTF-8 unless told they are binary.
            info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("latin-1") for k, v in self.xattrs.items()}
        return info


@dataclass(frozen=True)
class Layer:
    """A layer: its entries as a tar, or ``raw`` bytes as they are (a zero-byte blob)."""

    entries: tuple[Entry, ...] = ()
    raw: bytes | None = None

    def tar(self) -> bytes:
        if self.raw is not None:
            return self.raw
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="latin-1") as tar:
            for entry in self.entries:
                tar.addfile(entry.tarinfo(), io.BytesIO(entry.data) if entry.kind == "file" else None)
        return buffer.getvalue()


@dataclass(frozen=True)
class Shape:
    name: str
    layers: tuple[Layer, ...]  # after the busybox base layer
    probe: tuple[str, ...]  # the paths the container reports on
    note: str = ""
    escape_targets: tuple[str, ...] = ()  # host paths a layer aims at: none may ever exist
    user: str = ""  # the config's User ("" for root)
    env: tuple[str, ...] = ()  # the config's Env besides PATH

    def uncompressed(self) -> list[bytes]:
        return [layer.tar() for layer in self.layers]

    def compressed(self) -> list[tuple[bytes, str]]:
        """The shape's own layers as pushed: (blob, media type)."""
        return [_compress(raw) for raw in self.uncompressed()]


def _dirs(*paths: str, **kw) -> tuple[Entry, ...]:
    return tuple(Entry(p, "dir", **kw) for p in paths)


def whiteouts() -> Shape:
    lower = Layer(
        (
            *_dirs("w", "w/dir", "w/dir/sub"),
            Entry("w/keep", data=b"kept\n"),
            Entry("w/gone", data=b"hidden by a whiteout\n"),
            Entry("w/dir/sub/deep", data=b"deep\n"),
        )
    )
    upper = Layer((Entry("w/.wh.gone"), Entry("w/.wh.dir")))
    probe = ("/w", "/w/keep", "/w/gone", "/w/dir", "/w/dir/sub/deep", "/w/.wh.gone", "/w/.wh.dir")
    return Shape("whiteouts", (lower, upper), probe)


def opaque() -> Shape:
    lower = Layer(
        (
            *_dirs("first", "first/sub", "last", "last/sub"),
            Entry("first/old", data=b"old\n"),
            Entry("first/sub/old", data=b"old\n"),
            Entry("last/old", data=b"old\n"),
            Entry("last/sub/old", data=b"old\n"),
        )
    )
    # The marker before its directory's new entries in first/, after them in last/: either way it
    # hides the lower layers' entries only, never its own layer's.
    upper = Layer(
        (
            Entry("first", "dir"),
            Entry(f"first/{OPAQUE}"),
            Entry("first/new", data=b"new\n"),
            Entry("last", "dir"),
            Entry("last/new", data=b"new\n"),
            Entry(f"last/{OPAQUE}"),
        )
    )
    probe = tuple(f"/{d}/{p}".rstrip("/") for d in ("first", "last") for p in ("", "new", "old", "sub", OPAQUE))
    return Shape("opaque", (lower, upper), probe)


def whiteout_same_layer(whiteout: str) -> Shape:
    """A file and its own whiteout in one layer, the whiteout written ``after`` or ``before`` the file:
    layer.md says a whiteout hides the lower layers' entries only, so the file stays either way."""
    lower = Layer((Entry("s", "dir"), Entry("s/lower", data=b"lower\n")))
    own = Entry("s/own", data=f"its whiteout comes {whiteout} it\n".encode())
    entries = (own, Entry("s/.wh.own")) if whiteout == "after" else (Entry("s/.wh.own"), own)
    return Shape(f"whiteout-{whiteout}-its-file", (lower, Layer(entries)), ("/s/lower", "/s/own", "/s/.wh.own"))


def hardlink_in_layer() -> Shape:
    layer = Layer(
        (
            Entry("h", "dir"),
            Entry("h/orig", data=b"one inode\n", mode=0o640),
            # A tar writer gives the link's header the stat of its inode: the same mode as the file.
            Entry("h/same", "hardlink", link="h/orig", mode=0o640),
        )
    )
    return Shape("hardlink-in-layer", (layer,), ("/h/orig", "/h/same"))


def hardlink_across_layers() -> Shape:
    lower = Layer((Entry("h", "dir"), Entry("h/orig", data=b"lower layer's file\n")))
    upper = Layer((Entry("h/cross", "hardlink", link="h/orig"),))
    return Shape(
        "hardlink-across-layers",
        (lower, upper),
        ("/h/orig", "/h/cross"),
        note="a hardlink to a file of an earlier layer: image-spec is silent on it",
    )


def owners_and_modes() -> Shape:
    layer = Layer(
        (
            Entry("o", "dir"),
            Entry("o/high", data=b"high ids\n", uid=HIGH_UID, gid=HIGH_GID),
            Entry("o/highdir", "dir", uid=HIGH_UID + 1, gid=HIGH_GID + 1, mode=0o750),
            Entry("o/setuid", data=b"setuid\n", mode=0o4755),
            Entry("o/setgid", data=b"setgid\n", mode=0o2755),
            Entry("o/setgiddir", "dir", mode=0o2775),
            Entry("o/sticky", "dir", mode=0o1777),
        )
    )
    probe = ("/o/high", "/o/highdir", "/o/setuid", "/o/setgid", "/o/setgiddir", "/o/sticky")
    return Shape("owners-and-modes", (layer,), probe)


def xattrs(binary: bytes = b"#!/bin/sh\n") -> Shape:
    """``binary``: the probe's static busybox, copied into the layer with a file capability; the image
    runs as uid 1000, which gets cap_net_bind_service only by executing it with the xattr applied."""
    layer = Layer(
        (
            Entry("x", "dir"),
            Entry("x/busybox", data=binary, mode=0o755, xattrs={"security.capability": CAPABILITY_XATTR}),
            Entry("x/user", data=b"labelled\n", xattrs={"user.ocimatrix": b"layer-shapes"}),
        )
    )
    return Shape("xattrs", (layer,), ("/x/busybox", "/x/user"), user="1000:1000", env=(f"{CAPS_ENV}=/x/busybox",))


LONG_DIR = "d" * 90 + "/" + "e" * 90
LONG_FILE = f"{LONG_DIR}/" + "f" * 200


def long_names() -> Shape:
    layer = Layer(
        (
            Entry("l", "dir"),
            Entry("l/" + "d" * 90, "dir"),
            Entry(f"l/{LONG_DIR}", "dir"),
            Entry(f"l/{LONG_FILE}", data=b"a long name\n"),
            Entry("l/longlink", "symlink", link=f"/l/{LONG_FILE}"),
            Entry("l/longhard", "hardlink", link=f"l/{LONG_FILE}"),
        )
    )
    return Shape("long-names", (layer,), (f"/l/{LONG_FILE}", "/l/longlink", "/l/longhard"))


# Written through a symlink to ../../..: a root-level name no host has, so its appearance is an escape.
PARENT_ESCAPE = "ocimatrix-layers-through-parent"


def symlink_escape(sentinel: str) -> Shape:
    """``sentinel``: an absolute directory on the host that must stay empty whatever the engine does."""
    sentinel = sentinel.rstrip("/")
    climb = "../" * 12 + sentinel.lstrip("/")
    lower = Layer(
        (
            Entry("esc", "dir"),
            Entry("esc/abs", "symlink", link=sentinel),
            Entry("esc/rel", "symlink", link=climb),
            Entry("esc/up", "symlink", link="../../../../../../../.."),
        )
    )
    # A later layer writes through the symlinked directories: the link must resolve inside the root.
    upper = Layer(
        (
            Entry("esc/abs/through-absolute", data=b"through an absolute symlink\n"),
            Entry("esc/rel/through-relative", data=b"through a relative symlink\n"),
            Entry(f"esc/up/{PARENT_ESCAPE}", data=b"through a symlink to ../..\n"),
        )
    )
    probe = (
        "/esc/abs",
        "/esc/rel",
        "/esc/up",
        "/esc/abs/through-absolute",
        "/esc/rel/through-relative",
        f"/esc/up/{PARENT_ESCAPE}",
        f"{sentinel}/through-absolute",
        f"/{PARENT_ESCAPE}",
    )
    targets = (f"{sentinel}/through-absolute", f"{sentinel}/through-relative", f"/{PARENT_ESCAPE}")
    return Shape("symlink-escape", (lower, upper), probe, escape_targets=targets)


EMPTY_TAR = b"\0" * 1024


def empty_tar_layer() -> Shape:
    marker = Layer((Entry("empty-tar", data=b"after an empty layer\n"),))
    return Shape("empty-tar-layer", (Layer(raw=EMPTY_TAR), marker), ("/empty-tar",))


def zero_byte_layer() -> Shape:
    marker = Layer((Entry("zero-byte", data=b"after a zero-byte layer\n"),))
    return Shape(
        "zero-byte-layer",
        (Layer(raw=b""), marker),
        ("/zero-byte",),
        note="a zero-byte layer blob is no tar archive at all: image-spec is silent on whether it is an empty layer",
    )


def same_layer_twice() -> Shape:
    twice = Layer((Entry("t", "dir"), Entry("t/file", data=b"from the repeated layer\n")))
    # The middle layer hides the file; the repeated layer, applied after it, must bring it back.
    hide = Layer((Entry("t/.wh.file"),))
    return Shape("same-layer-twice", (twice, hide, twice), ("/t/file",))


def many_layers(count: int) -> Shape:
    """``count`` layers in all (the base included): each adds a file and rewrites /n/top."""
    layers = [Layer((Entry("n", "dir"), Entry("n/top", data=b"1\n"), Entry("n/1", data=b"1\n")))]
    for index in range(2, count):
        data = f"{index}\n".encode()
        layers.append(Layer((Entry("n/top", data=data), Entry(f"n/{index}", data=data))))
    return Shape(f"many-layers-{count}", tuple(layers), ("/n", "/n/top", "/n/1", f"/n/{count - 1}"))


def all_shapes(
    sentinel: str, layer_counts: Iterable[int] = MANY_LAYERS, *, busybox: bytes = b"#!/bin/sh\n"
) -> dict[str, Shape]:
    """Every shape; ``busybox``: the binary the xattrs shape copies (the probe's own, for a real run)."""
    shapes = [
        whiteouts(),
        opaque(),
        whiteout_same_layer("before"),
        whiteout_same_layer("after"),
        hardlink_in_layer(),
        hardlink_across_layers(),
        owners_and_modes(),
        xattrs(busybox),
        long_names(),
        symlink_escape(sentinel),
        empty_tar_layer(),
        zero_byte_layer(),
        same_layer_twice(),
        *(many_layers(n) for n in layer_counts),
    ]
    return {shape.name: shape for shape in shapes}


# --- what the layers say -----------------------------------------------------------------------------


@dataclass
class Node:
    kind: str  # file, dir, symlink
    uid: int = 0
    gid: int = 0
    mode: int = 0
    data: bytes = b""
    link: str = ""
    inode: int = 0  # hardlinks share it


def expected_tree(layers: Sequence[bytes]) -> dict[str, Node]:
    """The root filesystem the uncompressed ``layers`` make, applied as layer.md says: in order, a
    layer's whiteouts and opaque markers hiding the lower layers' entries only."""
    tree: dict[str, Node] = {}
    inodes = iter(range(1, 1 << 30))
    for raw in layers:
        members = _members(raw)
        hidden, opaque_dirs, adds = [], [], []
        for info, data in members:
            name = info.name.strip("/")
            while name.startswith("./"):
                name = name[2:]
            base, parent = posixpath.basename(name), posixpath.dirname(name)
            if base == OPAQUE:
                opaque_dirs.append(parent)
            elif base.startswith(WHITEOUT):
                hidden.append(posixpath.join(parent, base[len(WHITEOUT) :]))
            else:
                adds.append((name, info, data))
        for path in hidden:
            _remove(tree, path, keep_self=False)
        for path in opaque_dirs:
            _remove(tree, path, keep_self=True)
        for name, info, data in adds:
            if info.islnk():
                target = tree.get(info.linkname.strip("/"))
                if target is not None:
                    tree[name] = target  # the same object: one inode
                continue
            if info.isdir() and name in tree and tree[name].kind == "dir":
                node = tree[name]
                node.uid, node.gid, node.mode = info.uid, info.gid, info.mode
                continue
            kind = "dir" if info.isdir() else "symlink" if info.issym() else "file"
            if name in tree and kind != "dir":
                _remove(tree, name, keep_self=False)
            tree[name] = Node(kind, info.uid, info.gid, info.mode, data, info.linkname, next(inodes))
    return tree


def _members(raw: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    if not raw:
        return []
    found = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:", encoding="latin-1") as tar:
        for info in tar:
            data = b""
            if info.isreg():
                handle = tar.extractfile(info)
                data = handle.read() if handle else b""
            found.append((info, data))
    return found


def _remove(tree: dict[str, Node], path: str, *, keep_self: bool) -> None:
    prefix = f"{path}/" if path else ""
    for name in [n for n in tree if n.startswith(prefix) or (n == path and not keep_self)]:
        del tree[name]


def link_count(tree: dict[str, Node], node: Node) -> int:
    """How many paths of ``tree`` name ``node`` (hardlinks share one Node)."""
    return sum(1 for other in tree.values() if other is node)


# --- the image ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeImage:
    shape: str
    config: bytes
    manifest: bytes
    blobs: tuple[bytes, ...]  # the compressed layers, in manifest order (repeats included)
    diff_ids: tuple[str, ...]

    @property
    def digest(self) -> str:
        return _sha256(self.manifest)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _compress(raw: bytes) -> tuple[bytes, str]:
    if not raw:
        # Zero bytes are no gzip stream either: the blob stays as it is, announced as a plain tar.
        return raw, mediatypes.OCI_LAYER_TAR
    return gzip.compress(raw, compresslevel=6, mtime=0), mediatypes.OCI_LAYER_TAR_GZIP


def build_shape_image(shape: Shape, platform: str | None = None, *, base: bytes | None = None) -> ShapeImage:
    """The shape on top of ``base`` (an uncompressed tar; default: the probe's busybox layer)."""
    platform = platform or host_platform_name()
    if base is None:
        base = busybox_layer(PROBE_APPLETS, platform=platform)
    uncompressed = [base, *shape.uncompressed()]
    compressed = [_compress(raw) for raw in uncompressed]
    diff_ids = tuple(_sha256(raw) for raw in uncompressed)
    os_name, arch, *variant = platform.split("/")
    config = {
        "architecture": arch,
        "os": os_name,
        **({"variant": variant[0]} if variant else {}),
        "config": {
            "Entrypoint": ["/bin/sh", "-c", PROBE_SCRIPT, "layers-probe"],
            "Cmd": list(shape.probe),
            "Env": ["PATH=/bin", *shape.env],
            **({"User": shape.user} if shape.user else {}),
            "Labels": {"org.opencontainers.image.title": f"ocimatrix layer shape {shape.name}"},
        },
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created_by": f"ocimatrix layer shape {shape.name}, layer {i}"} for i in range(len(diff_ids))],
    }
    config_blob = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": _sha256(config_blob), "size": len(config_blob)},
        "layers": [{"mediaType": media, "digest": _sha256(blob), "size": len(blob)} for blob, media in compressed],
    }
    blobs = tuple(blob for blob, _ in compressed)
    return ShapeImage(shape.name, config_blob, json.dumps(manifest, sort_keys=True).encode(), blobs, diff_ids)


def push_shape_image(registry: str, image: ShapeImage, tag: str) -> str:
    """Push the image's blobs and manifest to ``registry`` (loopback only) as ocimatrix/layers:<shape>-<tag>;
    returns the reference."""
    check_loopback(registry)
    with RegistryClient(registry, plain_http=True) as client:
        for blob in dict.fromkeys((image.config, *image.blobs)):
            if not client.blob_exists(REPOSITORY, _sha256(blob)):
                client.push_blob(REPOSITORY, blob)
        ref_tag = f"{image.shape}-{tag}"
        client.put_manifest(REPOSITORY, ref_tag, image.manifest, mediatypes.OCI_MANIFEST)
    return f"{registry}/{REPOSITORY}:{ref_tag}"


# --- what the container shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One path as the container's probe reported it."""

    path: str
    line: str
    kind: str = "missing"  # "regular file", "directory", "symbolic link", ... as stat says
    uid: int = -1
    gid: int = -1
    mode: int = -1
    nlink: int = -1
    size: int = -1
    inode: int = -1
    what: str = ""

    @property
    def exists(self) -> bool:
        return self.kind != "missing"


def parse_probe(stdout: str) -> dict[str, Seen]:
    seen: dict[str, Seen] = {}
    for line in stdout.splitlines():
        path, sep, rest = line.partition("|")
        if not sep:
            continue
        if rest == "missing":
            seen[path] = Seen(path, line)
            continue
        stat, _, what = rest.partition("|")
        fields = stat.split(":")
        if len(fields) != 7:
            seen[path] = Seen(path, line, kind=f"unreadable: {stat}")
            continue
        kind, *numbers = fields
        try:
            uid, gid, nlink, size, inode = (int(numbers[i]) for i in (0, 1, 3, 4, 5))
            mode = int(numbers[2], 8)
        except ValueError:
            seen[path] = Seen(path, line, kind=f"unreadable: {stat}")
            continue
        seen[path] = Seen(path, line, kind, uid, gid, mode, nlink, size, inode, what)
    return seen


_KINDS = {"file": ("regular file", "regular empty file"), "dir": ("directory",), "symlink": ("symbolic link",)}


def mismatches(tree: dict[str, Node], seen: dict[str, Seen], paths: Iterable[str], *, nlink: bool = False) -> list[str]:
    """How the container's view (``seen``) of ``paths`` differs from what the layers make (``tree``):
    type, owner, mode, content or target, size, and with ``nlink`` a file's link count."""
    found = []
    for path in paths:
        node = tree.get(path.strip("/"))
        view = seen.get(path)
        if view is None:
            found.append(f"{path}: the probe printed nothing")
        elif node is None:
            if view.exists:
                found.append(f"{path}: present ({view.kind}), the layers hide it")
        elif not view.exists:
            found.append(f"{path}: missing, the layers make a {node.kind}")
        else:
            found += [f"{path}: {d}" for d in _differences(node, view, tree if nlink else None)]
    return found


def shown_content(data: bytes) -> str:
    """A file's content as the probe prints it."""
    if len(data) > 200:
        return "sha256:" + hashlib.sha256(data).hexdigest()
    return data.decode(errors="replace").replace("\n", " ")


def _differences(node: Node, seen: Seen, tree: dict[str, Node] | None) -> list[str]:
    if seen.kind not in _KINDS[node.kind]:
        return [f"a {seen.kind}, the layers make a {node.kind}"]
    found = []
    if (seen.uid, seen.gid) != (node.uid, node.gid):
        found.append(f"owner {seen.uid}:{seen.gid}, the layers say {node.uid}:{node.gid}")
    if node.kind != "symlink" and seen.mode != node.mode & 0o7777:
        found.append(f"mode {seen.mode:o}, the layers say {node.mode & 0o7777:o}")
    if node.kind == "file":
        want = shown_content(node.data)
        if seen.what != want:
            found.append(f"content {seen.what!r}, the layers say {want!r}")
        if seen.size != len(node.data):
            found.append(f"size {seen.size}, the layers say {len(node.data)}")
    if node.kind == "symlink" and seen.what != node.link:
        found.append(f"target {seen.what!r}, the layers say {node.link!r}")
    if tree is not None and node.kind == "file":
        links = link_count(tree, node)
        if seen.nlink != links:
            found.append(f"link count {seen.nlink}, the layers say {links}")
    return found


def probe_caps(stdout: str) -> dict[str, str]:
    """The capability lines of the probe: {"caps": "CapEff: ... CapBnd: ... NoNewPrivs: ...",
    "caps-after-exec": "CapEff: ..."} (empty when the image names no binary to execute)."""
    found = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("|")
        if sep and key in ("caps", "caps-after-exec"):
            found[key] = value.strip()
    return found


def cap_field(text: str, name: str) -> int | None:
    """``CapEff`` (or another /proc/self/status field) from a probe_caps value, as an int."""
    parts = text.split()
    for i, part in enumerate(parts[:-1]):
        if part == f"{name}:":
            try:
                return int(parts[i + 1], 16)
            except ValueError:
                return None
    return None
