"""What each registry, CRI and runtime claim means in tests of the existing suites.

A registry workflow claim (``pull``, ``push``, ``discovery``, ``management``) is the workflow's
core: the requests a client of that workflow makes and the answers the distribution-spec requires
of them (including the 404s clients rely on). The stricter error-path checks of the same suite are
claimable one by one under ``requirements`` (as Gateway API separates core from extended support),
so a vendor states exactly what it stands behind and nothing passes unseen. Optional features
(``referrers``, ``tag-deletion``, ``cross-mount``) are separate claims: a registry that lawfully
lacks one passes its workflow, and contradicts a claim that it has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocimatrix.specs import link

DIST = "suites/distribution"
CRI = "suites/cri"
RUNTIME = "suites/runtime"


@dataclass(frozen=True)
class Selection:
    """The suite tests that back one claim: function names in one suite file (all of the file when empty)."""

    path: str
    tests: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # The parameter ids (inside the node id's brackets) it keeps, when a test is parametrized by what
    # is claimed rather than by a matrix axis (the signer of a signature claim); () keeps every one.
    ids: tuple[str, ...] = ()

    def selects(self, nodeid: str) -> bool:
        path, _, rest = nodeid.partition("::")
        if path != self.path:
            return False
        name, _, params = rest.partition("[")
        if name in self.exclude:
            return False
        if self.ids and params.removesuffix("]") not in self.ids:
            return False
        return not self.tests or name in self.tests


@dataclass(frozen=True)
class Entry:
    title: str
    selections: tuple[Selection, ...]
    spec: str = ""
    # A check that found the feature lawfully absent skips its cell; for a claim that the feature
    # exists, that skip is the registry's own answer against the claim.
    absence_contradicts: bool = False


def _dist(file: str, *tests: str) -> Selection:
    return Selection(f"{DIST}/{file}", tests)


WORKFLOWS: dict[str, Entry] = {
    "pull": Entry(
        "distribution-spec v1.1 pull workflow (core)",
        (
            _dist(
                "test_pull.py",
                "test_api_version_check",
                "test_api_version_check_without_credentials",
                "test_pull_manifest",
                "test_head_manifest",
                "test_pull_blob",
                "test_head_blob",
                "test_unknown_manifest_is_404",
                "test_unknown_blob_is_404",
                "test_unknown_repository_is_404",
            ),
        ),
        link("distribution-spec/spec.md#pull"),
    ),
    "push": Entry(
        "distribution-spec v1.1 push workflow (core)",
        (
            _dist(
                "test_push.py",
                "test_monolithic_upload",
                "test_single_post_upload",
                "test_chunked_upload",
                "test_streamed_upload",
                "test_upload_status",
                "test_cancel_upload",
                "test_mount_of_unknown_blob_falls_back_to_upload",
                "test_push_manifest",
                "test_invalid_manifest_is_refused",
                "test_manifest_with_unknown_blobs",
                "test_manifest_digest_mismatch_is_refused",
                "test_blob_digest_mismatch_is_refused",
                "test_blob_bad_digest_is_400",
                "test_manifest_with_missing_subject_is_accepted",
                "test_well_known_blob",
            ),
        ),
        link("distribution-spec/spec.md#push"),
    ),
    "discovery": Entry(
        "distribution-spec v1.1 content discovery (core: the tag list, its order and pagination)",
        (
            _dist(
                "test_discovery.py",
                "test_tags_list",
                "test_tags_list_is_in_lexical_order",
                "test_tags_list_pagination_with_n",
                "test_tags_list_pagination_with_last",
                "test_tags_list_of_unknown_repository_is_404",
                "test_referrers_tag_schema_fallback",
            ),
        ),
        link("distribution-spec/spec.md#content-discovery"),
    ),
    "management": Entry(
        "distribution-spec v1.1 content management (core: deleting manifests and blobs)",
        (
            _dist(
                "test_management.py",
                "test_delete_manifest",
                "test_delete_unknown_manifest_is_404",
                "test_delete_blob",
                "test_delete_unknown_blob_is_404",
                "test_tag_list_reflects_manifest_delete",
            ),
        ),
        link("distribution-spec/spec.md#content-management"),
    ),
}

FEATURES: dict[str, Entry] = {
    "referrers": Entry(
        "the referrers API (GET /v2/<name>/referrers/<digest>, artifactType filter)",
        (
            _dist(
                "test_discovery.py",
                "test_referrers_api",
                "test_referrers_api_artifact_type_filter",
                "test_referrers_of_unknown_subject_is_empty",
            ),
        ),
        link("distribution-spec/spec.md#listing-referrers"),
        absence_contradicts=True,
    ),
    "tag-deletion": Entry(
        "deleting a tag (DELETE /v2/<name>/manifests/<tag>)",
        (_dist("test_management.py", "test_delete_tag"),),
        link("distribution-spec/spec.md#deleting-tags"),
        absence_contradicts=True,
    ),
    "cross-mount": Entry(
        "mounting a blob from another repository (POST ?mount=&from=)",
        (_dist("test_push.py", "test_cross_repository_mount"),),
        link("distribution-spec/spec.md#mounting-a-blob-from-another-repository"),
        absence_contradicts=True,
    ),
}

REQUIREMENTS: dict[str, Entry] = {
    "tags-lexical-order": Entry(
        "the registry lists tags in lexical order",
        (_dist("test_discovery.py", "test_tags_list_is_in_lexical_order"),),
        link("distribution-spec/spec.md#listing-tags"),
    ),
    "tags-pagination": Entry(
        "the tag list honours n and last (pagination with Link)",
        (_dist("test_discovery.py", "test_tags_list_pagination_with_n", "test_tags_list_pagination_with_last"),),
        link("distribution-spec/spec.md#listing-tags"),
    ),
    "chunk-order": Entry(
        "out-of-order and re-sent upload chunks are refused with 416",
        (_dist("test_push.py", "test_out_of_order_chunk_is_416", "test_resent_chunk_is_416"),),
        link("distribution-spec/spec.md#pushing-a-blob-in-chunks"),
    ),
    "stale-upload-url": Entry(
        "an upload's status is served from an earlier session URL",
        (_dist("test_push.py", "test_upload_status_from_a_stale_url"),),
        link("distribution-spec/spec.md#pushing-a-blob-in-chunks"),
    ),
    "range-requests": Entry(
        "blob Range requests answer 206, and 416 outside the blob",
        (_dist("test_pull.py", "test_blob_range_request", "test_unsatisfiable_blob_range_is_416"),),
        link("distribution-spec/spec.md#pulling-blobs"),
    ),
    "error-bodies": Entry(
        "malformed names, tags and digests are refused with the spec's status and a JSON error body",
        (
            _dist(
                "test_pull.py",
                "test_malformed_digest_is_refused",
                "test_invalid_tag_is_404",
                "test_invalid_tag_head_is_404",
                "test_invalid_repository_name_is_refused",
            ),
            _dist("test_push.py", "test_manifest_put_by_malformed_digest_is_400"),
        ),
        link("distribution-spec/spec.md#error-codes"),
    ),
    "content-shapes": Entry(
        "every content shape of the spec (indexes, artifacts, subjects, data, sha512 ...) is stored and served",
        (Selection(f"{DIST}/test_shapes.py"),),
        link("distribution-spec/spec.md#pushing-manifests"),
    ),
}

CRI_AREAS: dict[str, Entry] = {
    "runtime-info": Entry(
        "CRI Version and Status",
        (
            Selection(
                f"{CRI}/test_cri_images.py", ("test_version_speaks_v1", "test_status_reports_required_conditions")
            ),
        ),
        link("cri/api.proto"),
    ),
    "images": Entry(
        "CRI image service: pull by tag and digest, status, list, remove",
        (
            Selection(
                f"{CRI}/test_cri_images.py",
                exclude=("test_version_speaks_v1", "test_status_reports_required_conditions"),
            ),
        ),
        link("cri/api.proto"),
    ),
    "pods": Entry(
        "CRI pod sandboxes: run, status, stop, remove, list",
        (Selection(f"{CRI}/test_cri_pods.py"),),
        link("cri/api.proto"),
    ),
    "containers": Entry(
        "CRI containers: create, start, status, exec, logs, stop, remove, list",
        (Selection(f"{CRI}/test_cri_containers.py"),),
        link("cri/api.proto"),
    ),
    "image-config": Entry(
        "CRI containers honour the image config (command, args, env, working dir, user)",
        (Selection(f"{CRI}/test_cri_image_config.py"),),
        link("cri/api.proto"),
    ),
}


def _runtime(area: str) -> Selection:
    return Selection(f"{RUNTIME}/test_runtime_{area.replace('-', '_')}.py")


# A runtime-spec area is the whole of the runtime suite's file for it: every check there is a MUST
# or a SHOULD of that area, and the suite already skips (with the runtime's own words) what the spec
# lets a runtime refuse. suites/runtime/test_engine_configs.py is about engines, not the runtime.
RUNTIME_AREAS: dict[str, Entry] = {
    "lifecycle": Entry(
        "runtime-spec lifecycle: create, start, state, kill, delete on the runtime's command line",
        (_runtime("lifecycle"),),
        link("runtime-spec/runtime.md#lifecycle"),
    ),
    "process": Entry(
        "runtime-spec process: args, env, cwd, user, terminal, rlimits, capabilities, no_new_privileges",
        (_runtime("process"),),
        link("runtime-spec/config.md#process"),
    ),
    "mounts": Entry(
        "runtime-spec root and mounts, the default filesystems and devices, seen from inside",
        (_runtime("mounts"),),
        link("runtime-spec/config.md#mounts"),
    ),
    "isolation": Entry(
        "runtime-spec isolation: hostname, domainname, namespaces, masked and read-only paths, sysctl",
        (_runtime("isolation"),),
        link("runtime-spec/config-linux.md#namespaces"),
    ),
    "hooks": Entry(
        "runtime-spec hooks: every kind, in lifecycle order, with their state and environment",
        (_runtime("hooks"),),
        link("runtime-spec/config.md#posix-platform-hooks"),
    ),
    "resources": Entry(
        "runtime-spec Linux resources: cgroup limits (memory, pids, cpu) and seccomp, where the kernel enforces them",
        (_runtime("resources"),),
        link("runtime-spec/config-linux.md#control-groups"),
    ),
    "features": Entry(
        "runtime-spec features document (the runtime's `features` command)",
        (_runtime("features"),),
        link("runtime-spec/features.md"),
    ),
    "tools-parity": Entry(
        "the checks opencontainers/runtime-tools' validation makes (errors for invalid configs)",
        (_runtime("tools_parity"),),
        link("runtime-spec/config.md"),
    ),
}
