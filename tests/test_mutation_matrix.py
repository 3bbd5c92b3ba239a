"""Matrix expansion's corners that mutation testing found unguarded (docs/mutation.md): the generations
a registry brings in, include cells already in the product, unknown axes, expectation axes a cell lacks,
and versions a cell recorded under a descriptive key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix.axes import AXES
from ocimatrix.matrix import Matrix, value_matches, versions_match
from ocimatrix.tools.versions import parse_range


def matrix(**fields) -> Matrix:
    return Matrix(path=Path("m.yaml"), name="m", **fields)


def test_a_registry_of_another_generation_makes_its_generation_ready():
    m = matrix(
        axes={"engine": ("docker",), "registry": ("old", "new")},
        registries={"old": {"embedded": True}, "new": {"embedded": True, "generation": "trixie"}},
    )
    assert m.generations() == ("trixie",)
    # Cells of that registry only: a suite that never uses it needs no trixie.
    only_old = matrix(
        axes={"engine": ("docker",), "registry": ("old", "new")},
        registries={"old": {"embedded": True}, "new": {"embedded": True, "generation": "trixie"}},
        suites={"distribution": {"registry": ("old",)}},
    )
    assert only_old.generations() == ()
    assert matrix(axes={"registry": ("new",)}, registries={"new": {"url": "http://127.0.0.1:5000"}}).generations() == ()


def test_tools_of_another_generation_make_theirs_ready_whatever_the_suite():
    m = matrix(axes={"builder": ("podman@trixie",), "engine": ("docker",), "runtime": ("runc",)})
    assert m.generations() == ("trixie",)
    assert m.generations(("image",)) == ("trixie",)


def test_an_include_cell_already_in_the_product_is_not_added_twice():
    m = matrix(
        axes={"engine": ("docker", "podman"), "runtime": ("runc",)},
        include=({"engine": "podman", "runtime": "runc"}, {"engine": "docker@trixie", "runtime": "runc"}),
    )
    assert m.cells() == [{"engine": "docker", "runtime": "runc"}, {"engine": "podman", "runtime": "runc"}]


def test_an_include_cell_fills_the_axes_it_omits_with_their_first_value():
    m = matrix(
        axes={"engine": ("docker", "podman"), "runtime": ("runc", "crun")},
        include=({"engine": "docker@trixie", "runtime": "runc@trixie"},),
    )
    assert m.cells()[-1] == {"engine": "docker@trixie", "runtime": "runc@trixie"}
    narrow = matrix(
        axes={"engine": ("docker",), "runtime": ("runc",)}, suite_include={"lifecycle": ({"engine": "podman"},)}
    )
    assert narrow.cells("lifecycle") == [
        {"engine": "docker", "runtime": "runc"},
        {"engine": "podman", "runtime": "runc"},
    ]
    assert narrow.cells("image") == [{"engine": "docker", "runtime": "runc"}]


def test_an_unknown_axis_is_named_with_the_known_ones():
    with pytest.raises(ValueError) as refused:
        matrix(axes={"engine": ("docker",)}).cells_for(["engine", "colour"])
    assert str(refused.value) == f"unknown axes ['colour']; known: {', '.join(AXES)}"


def test_an_expectation_naming_an_axis_the_cell_lacks_does_not_apply():
    # A test that varies no runtime has no "runtime" in its cell: a listing for runc is not about it.
    assert not value_matches(None, ("runc",))
    assert not value_matches(None, ())


def test_a_descriptive_versions_entry_is_not_a_tool_version():
    # A CRI engine records what its endpoint said beside its version, under "<engine> endpoint".
    described = {"containerd-cri@trixie endpoint": "containerd 1.7.24 (CRI v1)"}
    assert versions_match({"containerd-cri": parse_range(">=1.7")}, described) is None
    assert versions_match({"containerd-cri": parse_range(">=1.7")}, described | {"containerd-cri@trixie": "1.7.24"})
