"""Claims files: the schema and the checks beyond it, each problem reported as file:line: field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ocimatrix.claims.load import load_claims, parse_size, schema_path
from ocimatrix.errors import UsageError

EXAMPLES = Path(__file__).resolve().parent.parent / "claims" / "examples"

GOOD = """\
claims: 1
vendor: V
product: P
image:
  source: {reference: "127.0.0.1:5000/vendor/app:1.0"}
  platforms: [linux/amd64]
  runs_on:
    - {engine: docker, version: ">=24"}
  checks:
    smoke: {command: [/app, --version], output: "^app "}
registry:
  url: http://127.0.0.1:5000
  auth: {type: basic, username_env: REG_USER, password_env: REG_PASSWORD}
  workflows: [pull, push]
  features: [referrers]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "claims.yaml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(UsageError) as info:
        load_claims(_write(tmp_path, text))
    assert info.value.exit_code == 2
    return str(info.value)


def test_a_good_file_loads(tmp_path):
    claims = load_claims(_write(tmp_path, GOOD))
    assert claims.image.source.kind == "reference"
    assert claims.image.runs_on[0].versions.admits("24.0.1")
    assert claims.registry.workflows == ("pull", "push")
    assert claims.digest.startswith("sha256:")


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_the_examples_load(example):
    load_claims(example)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("platforms: [linux/amd64]", "platforms: [linux/amd65]", 6, "image.platforms.0", "unknown platform"),
        ('version: ">=24"', 'version: "~>24"', 8, "image.runs_on.0.version", "is not OPERATOR VERSION"),
        ("engine: docker", "engine: dokcer", 8, "image.runs_on.0.engine", "'dokcer' is not one of"),
        ('output: "^app "', 'output: "^app ("', 10, "image.checks.smoke.output", "not a valid regular expression"),
        ("workflows: [pull, push]", "workflows: [pull, pushh]", 14, "registry.workflows.1", "is not one of"),
        ("  features: [referrers]", "  features: [referrers]\n  colour: blue", 16, "registry.colour", "unknown key"),
        ("password_env: REG_PASSWORD", "password: hunter2", 13, "registry.auth.password", "secrets never go"),
        ("claims: 1", "claims: 2", 1, "claims", "format version"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, old, new, line, field, words):
    assert old in GOOD
    message = _error(tmp_path, GOOD.replace(old, new))
    assert message.startswith(f"{tmp_path / 'claims.yaml'}:{line}: field '{field}': "), message
    assert words in message


def test_a_run_claim_needs_a_smoke_command(tmp_path):
    text = GOOD.replace(
        '    smoke: {command: [/app, --version], output: "^app "}\n', "    binaries_match_platform: true\n"
    )
    assert "needs checks.smoke" in _error(tmp_path, text)


def test_claims_nothing(tmp_path):
    assert "claims nothing" in _error(tmp_path, "claims: 1\nvendor: V\nproduct: P\n")


def test_a_missing_layout_is_named(tmp_path):
    text = GOOD.replace('{reference: "127.0.0.1:5000/vendor/app:1.0"}', "{layout: ./nowhere}")
    message = _error(tmp_path, text)
    assert ":5: field 'image.source.layout': " in message and "not an OCI image layout" in message


def test_a_reference_must_be_fully_qualified(tmp_path):
    message = _error(tmp_path, GOOD.replace("127.0.0.1:5000/vendor/app:1.0", "app:1.0"))
    assert "fully qualified" in message


def test_bad_yaml_is_a_usage_error(tmp_path):
    assert ": not valid YAML" in _error(tmp_path, "claims: [1\n")


def test_sizes():
    assert parse_size("20MiB") == 20 << 20
    assert parse_size("5 MB") == 5_000_000
    assert parse_size(1024) == 1024


def test_the_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(json.loads(schema_path().read_text()))
