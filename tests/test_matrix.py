"""Matrix files: expansion with include/exclude, projections per suite, and errors that point at the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix.errors import UsageError
from ocimatrix.matrix import DEFAULT_MATRIX, load_matrix, parse_matrix

DATA = Path(__file__).parent / "data" / "matrix"


def matrix_from(text: str, tmp_path: Path):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return load_matrix(path)


def test_default_matrix_loads_and_has_lifecycle_cells():
    matrix = load_matrix(DEFAULT_MATRIX)
    cells = matrix.cells_for(["builder", "engine", "runtime"], "lifecycle")
    assert len(cells) >= 12
    assert {c["engine"] for c in cells} >= {"docker", "podman", "containerd"}
    assert {c["runtime"] for c in cells} >= {"runc", "crun", "runc@trixie", "crun@trixie"}


def test_product_exclude_and_include(tmp_path):
    matrix = matrix_from(
        """
axes: {builder: [docker, podman], engine: [docker, podman], runtime: [runc, crun]}
exclude:
  - {builder: docker, runtime: crun}
include:
  - {builder: buildah, engine: podman}
""",
        tmp_path,
    )
    cells = matrix.cells_for(["builder", "engine", "runtime"])
    assert {"builder": "docker", "engine": "docker", "runtime": "crun"} not in cells
    assert {"builder": "podman", "engine": "docker", "runtime": "crun"} in cells
    # include fills unnamed axes with the first value
    assert {"builder": "buildah", "engine": "podman", "runtime": "runc"} in cells
    assert len(cells) == 2 * 2 * 2 - 2 + 1


def test_projection_drops_duplicates_in_order(tmp_path):
    matrix = matrix_from("axes: {builder: [docker, podman], engine: [docker], runtime: [runc, crun]}", tmp_path)
    assert matrix.cells_for(["builder"]) == [{"builder": "docker"}, {"builder": "podman"}]


def test_suite_override_narrows_axes_and_selects_suites(tmp_path):
    matrix = matrix_from(
        """
axes: {builder: [docker], engine: [docker, podman], platform: [linux/amd64]}
suites:
  lifecycle: {engine: [podman]}
  platforms: {platform: [linux/arm64, linux/s390x]}
""",
        tmp_path,
    )
    assert matrix.cells_for(["engine"], "lifecycle") == [{"engine": "podman"}]
    assert [c["platform"] for c in matrix.cells_for(["platform"], "platforms")] == [
        "linux/arm64",
        "linux/s390x",
    ]
    assert matrix.runs_suite("lifecycle") and not matrix.runs_suite("cri")


def test_unknown_engine_names_the_line_field_and_known_values():
    with pytest.raises(UsageError) as err:
        load_matrix(DATA / "bad-engine.yaml")
    message = str(err.value)
    assert "bad-engine.yaml:4" in message
    assert "axes.engine.1" in message
    assert "unknown engine 'dokcer'" in message and "known: docker, podman" in message


def test_invalid_yaml_names_file_and_line():
    with pytest.raises(UsageError, match=r"bad-yaml.yaml:\d+: not valid YAML"):
        load_matrix(DATA / "bad-yaml.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "axes: {builder: [docker], engine: [docker], runtime: [youki]}",
            "unknown runtime 'youki'; known: runc, crun",
        ),
        (
            "axes: {builder: [docker], engine: [docker], platform: [linux/amd65]}",
            "unknown platform 'linux/amd65'",
        ),
        ("axes: {builder: [docker], engine: [docker], colour: [red]}", "field 'axes.colour': unknown axis"),
        ("axes: {builder: [docker]}", "missing axis 'engine'"),
        ("axes: {builder: [docker], engine: []}", "expected a non-empty list"),
        ("engines: [docker]", "field 'engines': unknown key"),
        ("axes: {builder: [docker], engine: [docker], registry: [other]}", "registry 'other' is not defined"),
        (
            "axes: {builder: [docker], engine: [docker]}\nregistries: {r: {url: 'https://x', auth: {type: basic, "
            "password: hunter2}}}",
            "secrets never go in a matrix file",
        ),
        (
            "axes: {builder: [docker], engine: [docker]}\nexclude: [{engine: docker}]",
            "every cell is excluded",
        ),
        ("axes: {builder: [docker], engine: [docker]}\nsuites: [lifecycle, fuzz]", "unknown suite"),
        ("axes: {builder: [docker], engine: [docker]}\nexpectations: [{test: t}]", "say why"),
        ("axes: {builder: [docker], engine: [docker]}\nexpectations: [{test: t, reason: r}]", "'expectations.0.match'"),
        (
            "axes: {builder: [docker], engine: [docker]}\nexpectations: [{test: t, reason: r, match: '(['}]",
            "not a valid regular expression",
        ),
        (
            "axes: {builder: [docker], engine: [docker]}\nendpoints: {docker: /var/run/docker.sock}",
            "endpoint like",
        ),
        ("- just a list", "a matrix file is a mapping"),
    ],
)
def test_bad_matrix_messages(tmp_path, text, expected):
    with pytest.raises(UsageError) as err:
        matrix_from(text, tmp_path)
    assert expected in str(err.value)
    assert str(tmp_path / "m.yaml") in str(err.value)


def test_expectations_parsed(tmp_path):
    matrix = matrix_from(
        "axes: {builder: [docker], engine: [docker]}\n"
        "expectations: [{test: test_x*, cell: {engine: docker}, match: 'NOT_FOUND', reason: ' known bug '}]",
        tmp_path,
    )
    assert matrix.expectations == (
        {"test": "test_x*", "cell": {"engine": ("docker",)}, "match": "NOT_FOUND", "reason": "known bug"},
    )


def test_parse_matrix_accepts_python_data(tmp_path):
    matrix = parse_matrix({"axes": {"builder": ["podman"], "engine": ["podman"]}}, tmp_path / "x.yaml")
    assert matrix.cells() == [
        {
            "builder": "podman",
            "engine": "podman",
            "runtime": "runc",
            "platform": "linux/amd64",
            "registry": "embedded",
            "format": "oci",
            "compression": "gzip",
        }
    ]


@pytest.mark.parametrize(
    "path", sorted(DEFAULT_MATRIX.parent.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DEFAULT_MATRIX.parent))
)
def test_every_shipped_matrix_loads(path):
    matrix = load_matrix(path)
    assert matrix.cells(), f"{path} expands to no cells"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{embedded: token, port: 5000}", "only the plain embedded registry"),
        ("{embedded: true, port: 80}", "from 1024 to 65535"),
        ("{embedded: true, port: '5000'}", "from 1024 to 65535"),
    ],
)
def test_embedded_registry_port_is_checked(tmp_path, entry, message):
    with pytest.raises(UsageError) as err:
        matrix_from(f"axes: {{builder: [docker], engine: [docker]}}\nregistries: {{embedded: {entry}}}", tmp_path)
    assert message in str(err.value) and "registries.embedded.port" in str(err.value)


def test_embedded_registry_port_is_read(tmp_path):
    matrix = matrix_from(
        "axes: {builder: [docker], engine: [docker]}\nregistries: {embedded: {embedded: true, port: 5123}}", tmp_path
    )
    assert matrix.embedded_registry_port == 5123
    assert matrix_from("axes: {builder: [docker], engine: [docker]}", tmp_path).embedded_registry_port == 0


def test_a_suite_can_leave_tests_out_by_name(tmp_path):
    matrix = matrix_from(
        """
axes: {builder: [docker], engine: [docker]}
suites:
  layers: {deselect: ["test_many_layers[*"]}
  lifecycle:
""",
        tmp_path,
    )
    assert matrix.runs_suite("layers")
    assert matrix.deselects("layers", "test_many_layers[engine=docker-100]")
    assert not matrix.deselects("layers", "test_whiteout_of_a_file[engine=docker]")
    assert not matrix.deselects("lifecycle", "test_many_layers[engine=docker-100]")


@pytest.mark.parametrize("value", ["test_many_layers", [], [""], [3]])
def test_a_deselect_that_is_no_list_of_names_is_bad_input(tmp_path, value):
    import json

    with pytest.raises(UsageError, match=r"suites\.layers\.deselect.*list of test names"):
        matrix_from(
            f"axes: {{builder: [docker], engine: [docker]}}\nsuites: {{layers: {{deselect: {json.dumps(value)}}}}}\n",
            tmp_path,
        )


def test_the_default_leaves_the_many_layer_images_to_the_nightly():
    default, nightly = load_matrix(DEFAULT_MATRIX), load_matrix(DEFAULT_MATRIX.parent / "nightly.yaml")
    assert default.deselects("layers", "test_many_layers[x-128]")
    assert not nightly.deselects("layers", "test_many_layers[x-128]")
