"""The distribution suite's verdicts on go-containerregistry's registry (sid's crane 0.20.7).

For every expectation of ``matrix/default.yaml`` and ``matrix/nightly.yaml`` on a crane registry
(``embedded: crane``), the answers crane really gave at the named steps (recorded from a suite run:
they must be ``xfailed``), and answers it did not give there (distribution's own findings, the
spec's answer, a setup push's failure, silence: never ``xfailed``). Every answer recorded here is
listed, so a new crane finding can't be recorded and forgotten.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from verdict_cases import as_the_suite_fails, raised, tool_findings

from ocimatrix.errors import ServiceUnavailable
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.expectations import names_the_test
from ocimatrix.plugin.verdicts import decide
from ocimatrix.registries.targets import EMBEDDED_IMPLEMENTATIONS

ROOT = Path(__file__).resolve().parents[1]
MATRICES = ("matrix/default.yaml", "matrix/nightly.yaml")

# --- recorded answers: (step, answer) as CheckFailed carried them in a suite run on crane 0.20.7 ---

_NO_LOCATION = "201 Created; Location: (absent); body: (empty body)"
_PATCH_204 = "204 No Content; body: (empty body)"
_STORED = "201 Created; body: (empty body)"
_INVALID_DIGEST = '400 Bad Request; body: \'{"errors":[{"code":"NAME_INVALID","message":"invalid digest"}]}\\n\''
_RANGE_NOT_UNDERSTOOD = (
    "416 Requested Range Not Satisfiable; body: "
    '\'{"errors":[{"code":"BLOB_UNKNOWN","message":"We don\\\'t understand your Range"}]}\\n\''
)

_DELETED_MANIFEST = (
    '200 OK; body: \'{"config":{"digest":"sha256:2fdb23e434c6ed1587e87349d8f615b6a95cbacf43146d1dafe43e44d5d62578",'
    '"mediaType":"application/vnd.oci.image.config.v1+json","size":265},"layers":[{"digest":"sha256:90eda14593b6ad'
    '57598b4f6a4f8f6f019bc2db01ba8760377f065f9cf0c17764","mediaType":"application/vnd.oci.image.layer.\' ...'
)
_UNKNOWN_BLOB_DELETED = (
    '500 Internal Server Error; body: \'{"errors":[{"code":"INTERNAL_SERVER_ERROR","message":"remove '
    "/var/tmp/ocimatrix-sdpoqxz0/generations/sid/crane-registry/blobs/sha256/"
    "28922062dceb5c446ca0b0db018a9c2980093ce62d9dc295c5aaffcea6e0c8d3: no such file or directory\"}]}\\n'"
)
_RANGE_PAST_THE_END = (
    "416 Requested Range Not Satisfiable; body: "
    '\'{"errors":[{"code":"BLOB_UNKNOWN","message":"range end 5001 \\\\u003e 2048 size"}]}\\n\''
)

# Test (as pytest names it in the cell embedded-crane) -> (step, answer).
RECORDED: dict[str, tuple[str, str]] = {
    "test_blob_bad_digest_is_400[embedded-crane-chunked-put-last]": (
        "upload (chunked-put-last) whose bytes don't hash to the digest given",
        _PATCH_204,
    ),
    "test_blob_bad_digest_is_400[embedded-crane-chunked]": (
        "upload (chunked) whose bytes don't hash to the digest given",
        _PATCH_204,
    ),
    "test_blob_bad_digest_is_400[embedded-crane-stream]": (
        "upload (stream) whose bytes don't hash to the digest given",
        _PATCH_204,
    ),
    "test_blob_range_request[embedded-crane--500]": ("GET blob with Range: bytes=-500", _RANGE_NOT_UNDERSTOOD),
    "test_blob_range_request[embedded-crane-500-]": ("GET blob with Range: bytes=500-", _RANGE_NOT_UNDERSTOOD),
    "test_blob_range_request[embedded-crane-2000-5000]": ("GET blob with Range: bytes=2000-5000", _RANGE_PAST_THE_END),
    "test_cancel_upload[embedded-crane]": ("cancelling an upload", _INVALID_DIGEST),
    "test_chunked_upload[embedded-crane-patch]": ("chunked upload, chunk 1 (bytes 0-99)", _PATCH_204),
    "test_chunked_upload[embedded-crane-put]": (
        "chunked upload (last chunk in the PUT), chunk 1 (bytes 0-99)",
        _PATCH_204,
    ),
    "test_content_shape_sha512[embedded-crane]": (
        "sha512: pushing blob sha512:c20de6be26b3... (application/vnd.oci.image.layer.v1.tar+gzip)",
        _INVALID_DIGEST,
    ),
    "test_cross_repository_mount[embedded-crane]": ("cross-repository mount: the 202 fallback upload", _NO_LOCATION),
    "test_delete_manifest[embedded-crane]": (
        "delete manifest by digest: GET by the tag that pointed at it",
        _DELETED_MANIFEST,
    ),
    "test_delete_unknown_blob_is_404[embedded-crane]": ("delete an unknown blob", _UNKNOWN_BLOB_DELETED),
    "test_invalid_manifest_is_refused[embedded-crane]": ("push of an invalid manifest", _STORED),
    "test_manifest_digest_mismatch_is_refused[embedded-crane]": (
        "push of a manifest under a digest that is not its own",
        _STORED,
    ),
    "test_manifest_put_by_malformed_digest_is_400[embedded-crane]": (
        "push of a manifest under the malformed digest sha256:baddigeststring",
        _STORED,
    ),
    "test_monolithic_upload[embedded-crane]": ("monolithic upload (POST then PUT)", _NO_LOCATION),
    "test_mount_of_unknown_blob_falls_back_to_upload[embedded-crane]": (
        "mount of a blob the source repository doesn't have: uploading through the 202 session",
        _NO_LOCATION,
    ),
    "test_mount_without_from[embedded-crane]": ("mount without from: the 202 fallback upload", _NO_LOCATION),
    "test_out_of_order_chunk_is_416[embedded-crane]": ("chunked upload, first chunk", _PATCH_204),
    "test_push_manifest[embedded-crane-digest]": ("push manifest by digest", _NO_LOCATION),
    "test_push_manifest[embedded-crane-tag]": ("push manifest by tag", _NO_LOCATION),
    "test_resent_chunk_is_416[embedded-crane]": ("chunked upload, first chunk", _PATCH_204),
    "test_single_post_upload[embedded-crane]": ("single-request upload (POST ?digest=)", _NO_LOCATION),
    "test_streamed_upload[embedded-crane]": ("streamed upload (PATCH without Content-Range)", _PATCH_204),
    "test_tag_list_reflects_manifest_delete[embedded-crane]": (
        "tag list after the delete",
        '200 OK; body: \'{"name":"ocimatrix/dist/f144131c-gw1-delete-then-list-ca637c","tags":["doomed","survivor"]}\'',
    ),
    "test_unsatisfiable_blob_range_is_416[embedded-crane-500-0]": (
        "GET blob with Range: bytes=500-0",
        "206 Partial Content; body: 'bcdef0123456789abcdef0123456789abcdef' ...",
    ),
    "test_upload_status[embedded-crane]": ("upload status: first chunk", _PATCH_204),
    "test_upload_status_from_a_stale_url[embedded-crane]": ("upload status from a stale URL: first chunk", _PATCH_204),
    "test_well_known_blob[embedded-crane-empty-json]": (
        "push of the empty-json blob (sha256:44136fa355b3...)",
        _NO_LOCATION,
    ),
    "test_well_known_blob[embedded-crane-empty]": ("push of the empty blob (sha256:e3b0c44298fc...)", _NO_LOCATION),
}
# Cases of listed tests that pass on crane: no listing may name them (a strict xfail would XPASS).
PASSING_CASES = (
    "test_blob_range_request[embedded-crane-500-1499]",
    "test_unsatisfiable_blob_range_is_416[embedded-crane-5000-10000]",
    "test_blob_bad_digest_is_400[embedded-crane-post-only]",
)

# Answers crane never gave at the listed steps: the spec's own, distribution 2.8's findings, a server
# error, an empty answer, a late one.
OTHER_ANSWERS = (
    "201 Created; Location: /v2/r/blobs/sha256:abc; body: (empty body)",
    "202 Accepted; Range: 0-99; body: (empty body)",
    "202 Accepted; Range: 0-19; body: (empty body)",
    "204 No Content; Range: 0-32; body: (empty body)",
    "206 Partial Content; body: 'abc'",
    '400 Bad Request; body: \'{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match"}]}\'',
    '400 Bad Request; body: \'{"errors":[{"code":"MANIFEST_INVALID"}]}\'',
    '404 Not Found; body: \'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}\'',
    '404 Not Found; body: \'{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid"}]}\'',
    "404 Not Found; Content-Type: text/plain; charset=utf-8; body: '404 page not found\\n'",
    '416 Requested Range Not Satisfiable; body: \'{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}\'',
    '200 OK; body: \'{"name":"r","tags":["survivor"]}\'',
    "500 Internal Server Error; body: (empty body)",
    "503 Service Unavailable; body: 'upstream gone'",
    "no complete answer within 30s (timeout)",
    "",
)
SETUP_STEPS = ("setup: pushing the test image", "setup: pushing a blob", "setup: pushing a referrer")
# Among those, the ones that are the listed finding itself: any 206 to a reversed range, any 200 to
# the GET by a tag whose manifest was deleted, any 201 to a manifest that should have been refused.
_STORED_WITH_LOCATION = {"201 Created; Location: /v2/r/blobs/sha256:abc; body: (empty body)"}
SAME_FINDING = {
    "test_unsatisfiable_blob_range_is_416": {"206 Partial Content; body: 'abc'"},
    "test_delete_manifest": {'200 OK; body: \'{"name":"r","tags":["survivor"]}\''},
    "test_invalid_manifest_is_refused": _STORED_WITH_LOCATION,
    "test_manifest_digest_mismatch_is_refused": _STORED_WITH_LOCATION,
    "test_manifest_put_by_malformed_digest_is_400": _STORED_WITH_LOCATION,
}


def _crane_registries(matrix) -> set[str]:
    return {name for name, s in matrix.registries.items() if s.get("embedded") in EMBEDDED_IMPLEMENTATIONS}


def _crane_expectations() -> list:
    found = []
    for name in MATRICES:
        matrix = load_matrix(ROOT / name)
        crane = _crane_registries(matrix)
        for index, expected in enumerate(matrix.expectations):
            if expected["test"].partition("[")[0] in tool_findings():
                continue
            if crane & set(expected["cell"].get("registry", ())):
                found.append(pytest.param(expected, id=f"{Path(name).stem}-{index}-{expected['test']}"))
    return found


def _names(pattern: str, test: str) -> bool:
    """Whether a listing's ``test`` names ``test`` (``function[id]``), as the plugin decides it."""
    return names_the_test(test.partition("[")[0], test, pattern)


def _recorded(expected: dict) -> list[tuple[str, str]]:
    """The answers recorded for the tests the listing names."""
    return [answer for test, answer in RECORDED.items() if _names(expected["test"], test)]


def test_both_matrices_run_the_crane_registry_in_the_distribution_suite():
    for name in MATRICES:
        matrix = load_matrix(ROOT / name)
        crane = _crane_registries(matrix)
        assert crane == {"embedded-crane"}, name
        assert matrix.registries["embedded-crane"]["generation"] == "sid", name
        assert "embedded-crane" in matrix.suites["distribution"]["registry"], name
        assert "sid" in matrix.generations(("distribution",)), name


def test_crane_findings_are_listed_for_the_crane_registry_only():
    for name in MATRICES:
        matrix = load_matrix(ROOT / name)
        crane = _crane_registries(matrix)
        for expected in matrix.expectations:
            registries = set(expected["cell"].get("registry", ()))
            if registries & crane and expected["test"].partition("[")[0] not in tool_findings():
                assert registries <= crane, (name, expected["test"], "a crane finding names another registry")
                assert "crane" in expected["reason"], (name, expected["test"])


@pytest.mark.parametrize("expected", _crane_expectations())
def test_every_crane_expectation_names_a_step_and_has_recorded_answers(expected):
    assert expected.get("step"), "a registry finding names the step it answered"
    assert _recorded(expected), "record crane's real answer for this expectation"


@pytest.mark.parametrize("expected", _crane_expectations())
def test_the_recorded_answer_confirms_the_listing(expected):
    for step, answer in _recorded(expected):
        verdict = decide(as_the_suite_fails(step, answer), expected=expected)
        assert verdict.outcome == "xfailed", (step, answer, verdict.reason)


@pytest.mark.parametrize("expected", _crane_expectations())
def test_a_different_failure_never_confirms_the_listing(expected):
    recorded = _recorded(expected)
    # The finding's own answer, but to a setup step: a setup push's 201 without Location is no finding here.
    for setup in SETUP_STEPS:
        for _, answer in recorded:
            assert decide(as_the_suite_fails(setup, answer), expected=expected).outcome == "failed"
    for step, _ in recorded:
        for answer in OTHER_ANSWERS:
            if answer in SAME_FINDING.get(expected["test"].partition("[")[0], ()):
                continue
            verdict = decide(as_the_suite_fails(step, answer), expected=expected)
            assert verdict.outcome == "failed", (step, answer)
    # Nothing answered: the registry is gone, whatever the message says.
    assert decide(raised(ConnectionRefusedError(111, "Connection refused")), expected=expected).outcome == "error"
    unavailable = ServiceUnavailable("registry http://127.0.0.1:5000", f"{recorded[0][0]}: ConnectError")
    assert decide(raised(unavailable), expected=expected).outcome == "error"
    assert decide(raised(AssertionError(expected["match"])), expected=expected).outcome == "failed"


def test_every_recorded_crane_answer_is_listed_in_both_matrices():
    for name in MATRICES:
        listed = [e for e in load_matrix(ROOT / name).expectations if "embedded-crane" in e["cell"].get("registry", ())]
        for test, (step, answer) in RECORDED.items():
            confirming = [
                e
                for e in listed
                if _names(e["test"], test) and decide(as_the_suite_fails(step, answer), expected=e).outcome == "xfailed"
            ]
            assert confirming, (name, test, step)
        for test in PASSING_CASES:
            assert not [e["test"] for e in listed if _names(e["test"], test)], (name, test, "passes on crane")


def test_the_side_by_side_table_has_every_check_and_the_listed_findings():
    """docs/registries.md's table: one row per test of the suite; a column's *known* exactly where a
    listing names that test for that implementation (so the table can't go stale silently)."""
    import re

    text = (ROOT / "docs" / "registries.md").read_text()
    section = text.split("## Two implementations side by side", 1)[1].split("\n## ", 1)[0]
    rows = {
        m[1]: m.groups()[1:] for m in re.finditer(r"^\| `(test_\w+)` \| (.+?) \| (.+?) \| (.+?) \|$", section, re.M)
    }
    defined = set()
    for path in (ROOT / "suites" / "distribution").glob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)\(", path.read_text(), re.M))
    assert set(rows) == defined
    matrix = load_matrix(ROOT / "matrix" / "default.yaml")
    for column, registry in ((0, "embedded"), (1, "embedded-trixie"), (2, "embedded-crane")):
        listed = {
            test
            for test in defined
            for e in matrix.expectations
            if registry in e["cell"].get("registry", ()) and _names(e["test"].partition("[")[0], test)
        }
        known = {test for test, cells in rows.items() if cells[column].startswith("known")}
        assert known == listed, (registry, known ^ listed)
