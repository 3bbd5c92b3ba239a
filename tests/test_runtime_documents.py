"""State and features documents against schemas/runtime, with outputs recorded from runc 1.1.5,
crun 1.8.1 and runsc 20221219 on Debian 12 (tests/data/runtime/)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ocimatrix.runtime.capabilities import mask_of, names_of, sets_from_status
from ocimatrix.runtime.cli import CallResult
from ocimatrix.runtime.documents import (
    FEATURES_RELEASES,
    features_release,
    problems,
    schema_path,
    semver_key,
    undefined_features,
)

DATA = Path(__file__).parent / "data" / "runtime"
STATES = json.loads((DATA / "states.json").read_text())
RUNC_FEATURES = json.loads((DATA / "features-runc-1.1.5.json").read_text())


@pytest.mark.parametrize("runtime", ["runc", "crun", "runsc"])
@pytest.mark.parametrize("status", ["created", "running", "stopped"])
def test_recorded_states_are_valid(runtime, status):
    state = STATES[runtime][status]
    assert state["status"] == status
    assert problems("state", state) == []


@pytest.mark.parametrize("runtime", ["runc", "crun", "runsc"])
def test_recorded_hook_states_are_valid(runtime):
    for kind, state in STATES[runtime]["hooks"].items():
        assert problems("state", state) == [], kind


def test_state_needs_a_pid_while_created_or_running():
    state = copy.deepcopy(STATES["runc"]["running"])
    del state["pid"]
    assert any("pid is REQUIRED" in p for p in problems("state", state))
    state["pid"] = 0
    assert problems("state", state), "pid 0 names no process"
    stopped = copy.deepcopy(STATES["runsc"]["stopped"])
    assert stopped["pid"] == -1 and problems("state", stopped) == [], "the spec leaves a stopped pid open"


def test_state_rejects_unknown_status_and_relative_bundle():
    state = dict(STATES["crun"]["created"], status="paused-ish", bundle="relative")
    found = problems("state", state)
    assert any(p.startswith("/status") for p in found) and any(p.startswith("/bundle") for p in found)


def test_runc_features_are_valid():
    assert problems("features", RUNC_FEATURES) == []


def test_features_minimal_document():
    assert problems("features", {"ociVersionMin": "1.0.0", "ociVersionMax": "1.1.0"}) == []


def test_features_nulls_are_allowed_except_for_the_versions():
    doc = {"ociVersionMin": "1.0.0", "ociVersionMax": "1.2.0", "hooks": None, "linux": {"seccomp": None}}
    assert problems("features", doc) == []
    assert problems("features", {"ociVersionMin": None, "ociVersionMax": "1.2.0"})


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"ociVersionMax": None}, "/ociVersionMax"),
        ({"madeUp": True}, "/"),
        ({"ociVersionMin": "1.2.0", "ociVersionMax": "1.0.2-dev"}, "/ociVersionMax"),
        ({"ociVersionMax": "one"}, "/ociVersionMax"),
        ({"linux": {"namespaces": ["pidd"]}}, "/linux/namespaces/0"),
        ({"linux": {"cgroup": {"v3": True}}}, "/linux/cgroup"),
        ({"annotations": {"k": 1}}, "/annotations/k"),
    ],
)
def test_features_violations_name_the_field(change, where):
    doc = {**copy.deepcopy(RUNC_FEATURES), **change}
    found = problems("features", doc)
    assert any(p.startswith(where + ":") or p.startswith(where + "/") for p in found), found


def test_missing_ocimax_is_reported():
    doc = dict(RUNC_FEATURES)
    del doc["ociVersionMax"]
    assert any("ociVersionMax" in p for p in problems("features", doc))


def test_semver_precedence():
    assert semver_key("1.0.2-dev") < semver_key("1.0.2") < semver_key("1.1.0-rc.1") < semver_key("1.1.0")
    assert semver_key("1.0.0-rc.2") < semver_key("1.0.0-rc.10")
    assert semver_key("1.0") is None and semver_key("v1.0.0") is None


@pytest.mark.parametrize(("name", "words"), [("crun", "unknown command features"), ("runsc", "Usage: runsc")])
def test_recorded_answers_of_runtimes_without_features(name, words):
    answer = json.loads((DATA / f"features-{name}-absent.json").read_text())
    assert answer["provided"] is False and answer["exit"] != 0
    assert answer["answer"].startswith(words)


def test_call_words_keep_both_ends_of_a_long_answer():
    usage = "unknown command features\n" + "\tcommand   does something\n" * 200 + "Use runsc flags"
    words = CallResult(["runsc", "features"], 128, "", usage).words
    assert words.startswith("unknown command features") and words.endswith("Use runsc flags") and "[...]" in words
    assert CallResult(["x"], 1, "", "").words == "exit 1, no output"


def test_capability_masks():
    assert mask_of(["CAP_CHOWN", "CAP_KILL"]) == 0b100001
    assert names_of(0x00000000200004E1) == {
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_NET_BIND_SERVICE",
        "CAP_AUDIT_WRITE",
    }
    assert "CAP_63" in names_of(1 << 63)
    status = "Name:\tsh\nCapInh:\t0000000000000020\nCapBnd:\t00000000200004e1\nNoNewPrivs:\t1\n"
    assert sets_from_status(status) == {"inheritable": {"CAP_KILL"}, "bounding": names_of(0x200004E1)}


# --- features read against the release a runtime declares (schemas/runtime/features/) ---------------
RECORDED_FEATURES = {
    name: json.loads((DATA / f"features-{name}.json").read_text())
    for name in ("runc-1.1.5", "runc-1.1.15", "runc-1.3.6", "crun-1.21", "crun-1.28")
}


@pytest.mark.parametrize("name", ["runc-1.1.5", "runc-1.1.15", "runc-1.3.6"])
def test_runc_features_are_valid_for_the_release_they_declare(name):
    assert problems("features", RECORDED_FEATURES[name]) == []
    assert undefined_features(RECORDED_FEATURES[name]) == []


def test_crun_features_hold_properties_of_later_releases():
    assert undefined_features(RECORDED_FEATURES["crun-1.21"]) == [
        "/linux/mountExtensions",
        "/potentiallyUnsafeConfigAnnotations",
    ]
    assert undefined_features(RECORDED_FEATURES["crun-1.28"]) == [
        "/linux/memoryPolicy",
        "/linux/mountExtensions",
        "/linux/netDevices",
        "/potentiallyUnsafeConfigAnnotations",
    ]
    assert all("not defined in runtime-spec 1.1.0" in p for p in problems("features", RECORDED_FEATURES["crun-1.28"]))
    # The same documents are valid for the release that defines what they hold.
    for name in ("crun-1.21", "crun-1.28"):
        assert problems("features", {**RECORDED_FEATURES[name], "ociVersionMax": "1.3.0"}) == []


@pytest.mark.parametrize(
    ("declared", "release", "exact"),
    [
        ("1.0.2-dev", "1.1.0", True),  # before features.md: its first release
        ("1.1.0+dev", "1.1.0", True),  # build metadata is no part of the version
        ("1.2.0", "1.2.0", True),
        ("1.2.1", "1.2.1", True),
        ("1.3.0-rc.1", "1.3.0", True),
        ("1.2.5", "1.2.1", False),  # no schema for it: read as the one before, extras not judged
        ("1.4.0", "1.3.0", False),
        ("newest", "1.3.0", False),
    ],
)
def test_features_release_of_a_declared_version(declared, release, exact):
    chosen = features_release(declared)
    assert (chosen.release, chosen.exact) == (release, exact), chosen.why


def test_properties_beyond_an_unpinned_release_are_not_judged_but_types_are():
    doc = {"ociVersionMin": "1.0.0", "ociVersionMax": "1.4.0", "linux": {"futureThing": {}, "cgroup": {"v1": "yes"}}}
    found = problems("features", doc)
    assert undefined_features(doc) == [] and len(found) == 1 and found[0].startswith("/linux/cgroup/v1:")


def test_each_release_defines_what_the_one_before_did():
    schemas = [json.loads(schema_path(f"features/{r}").read_text()) for r in FEATURES_RELEASES]
    for older, newer in zip(schemas, schemas[1:], strict=False):
        assert set(older["properties"]) <= set(newer["properties"])
        assert set(older["$defs"]["linux"]["properties"]) <= set(newer["$defs"]["linux"]["properties"])
