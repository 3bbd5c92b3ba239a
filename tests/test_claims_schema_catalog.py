"""The claims schema's lists of tools are published for editors and CI linters, so they stay in the file;
these checks keep them equal to the tools floor, which is where a new tool is added."""

from __future__ import annotations

import json

from ocimatrix.claims.load import schema_path
from ocimatrix.tools import catalog


def _schema() -> dict:
    return json.loads(schema_path().read_text())


def _engine_claim_enum(schema: dict) -> list[str]:
    runs_on = schema["$defs"]["image"]["properties"]["runs_on"]["items"]
    return runs_on["properties"]["engine"]["enum"]


def test_the_engines_an_image_claim_names_are_the_catalog_s_engines():
    assert _engine_claim_enum(_schema()) == list(catalog.names("engine"))


def test_the_cri_engines_are_the_catalog_s_cri_runtimes():
    cri = _schema()["$defs"]["cri"]["properties"]
    assert cri["engine"]["enum"] == [t.name for t in catalog.TOOLS if t.capabilities.cri]


def test_the_runtimes_a_claim_names_are_engine_runtimes_of_the_catalog():
    schema = _schema()
    runtime_lists = [
        schema["$defs"]["image"]["properties"]["runtimes"]["items"]["enum"],
        schema["$defs"]["cri"]["properties"]["runtimes"]["items"]["enum"],
    ]
    for listed in runtime_lists:
        assert set(listed) <= set(catalog.engine_runtimes()), listed
