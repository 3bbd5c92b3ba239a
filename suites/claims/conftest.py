"""The claims suite: a vendor's image, checked against what its claims file says.

``ocimatrix verify`` writes the plan (the claims, normalised) and names it in ``OCIMATRIX_CLAIMS_PLAN``;
without it this suite collects nothing, so ``ocimatrix run`` on a matrix without ``suites:`` never
sees it. The vendor's image is untrusted: skopeo copies it into the embedded registry and back out
to an OCI layout for the static checks; the engines pull it from the registry and run it only
through their drivers (no network, no privileges, no host mounts, never through the CRI here).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocimatrix.claims.attested import IndexAttestations, Unreadable, from_layout
from ocimatrix.claims.imagefs import ImageUnreadable, PlatformImage, PlatformMissing, load_platform
from ocimatrix.distribution.context import safe_component
from ocimatrix.engines.binding import bind
from ocimatrix.errors import HarnessError
from ocimatrix.plugin.shared_steps import Outcome, cached_step
from ocimatrix.plugin.verdicts import skip_unless_started
from ocimatrix.tools.catalog import REFERENCE_COPIER

PLAN_ENV = "OCIMATRIX_CLAIMS_PLAN"

if not os.environ.get(PLAN_ENV) or not json.loads(Path(os.environ[PLAN_ENV]).read_text()).get("image"):
    collect_ignore_glob = ["test_*.py"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim_check(name): the claims-file check (checks.NAME) a claims test needs")


def load_plan() -> dict:
    return json.loads(Path(os.environ[PLAN_ENV]).read_text())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The plan's selection, over every suite of the run: only the tests and cells some claim rests on
    run (a check the claims don't state, or an engine whose claimed versions no installed engine has,
    is not a cell at all)."""
    if not os.environ.get(PLAN_ENV):
        return
    selections = load_plan().get("select") or []
    keep, drop = [], []
    for item in items:
        cell = getattr(getattr(item, "callspec", None), "params", {}).get("cell") or {}
        nodeid = item.nodeid.replace(os.sep, "/")
        (keep if any(selected(s, nodeid, cell) for s in selections) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def selected(selection: dict, nodeid: str, cell: dict) -> bool:
    path, _, rest = nodeid.partition("::")
    name, _, params = rest.partition("[")
    if path != selection["path"] or name in selection.get("exclude", ()):
        return False
    if selection.get("ids") and params.removesuffix("]") not in selection["ids"]:
        return False
    if selection.get("tests") and name not in selection["tests"]:
        return False
    return all(cell.get(axis) in values for axis, values in (selection.get("cell") or {}).items() if axis in cell)


@pytest.fixture(scope="session")
def plan() -> dict:
    return load_plan()


@pytest.fixture
def image_claims(plan) -> dict:
    return plan["image"]


@dataclass
class VendorImage:
    ref: str  # in the embedded registry
    digest: str  # what skopeo wrote there: the index (or manifest) digest
    layout: Path  # the same image copied back out, for the static checks


def source_transport(source: dict) -> str:
    if source["kind"] == "reference":
        return f"docker://{source['value']}"
    if source["kind"] == "archive":
        return f"docker-archive:{source['value']}"
    return f"oci:{source['value']}" + (f":{source['tag']}" if source.get("tag") else "")


@pytest.fixture
def vendor_image(image_claims, endpoints, run_id, recorder, worker_cache) -> Outcome:
    """The vendor's image, copied by skopeo into the embedded registry (``.get()`` it in the test body)."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    skopeo = bind(REFERENCE_COPIER, endpoints, role="copier")
    reason = skopeo.unavailable()
    if reason:
        pytest.skip(reason)
    recorder.versions[skopeo.name] = skopeo.version()

    def copy() -> VendorImage:
        ref = f"{endpoints.registry}/ocimatrix/claims/vendor:{run_id}"
        scratch = Path(tempfile.mkdtemp(prefix="claims-", dir=endpoints.state_dir))
        digest = skopeo.copy(
            source_transport(image_claims["source"]), f"docker://{ref}", all_platforms=True, digest_file=scratch / "d"
        )
        layout = scratch / "layout"
        skopeo.copy(f"docker://{ref}", f"oci:{layout}:claims", all_platforms=True)
        return VendorImage(ref, digest, layout)

    return cached_step(worker_cache["vendor copies"], run_id, copy)


class StaticImage:
    """One platform's image as the layout holds it; ``get()`` in the test body fails the cell when the
    image lacks the platform or can't be read (the vendor's image is at fault, not the harness)."""

    def __init__(self, vendor: Outcome, platform: str, contents: list[str], recorder, loaded: dict) -> None:
        self.vendor, self.platform, self.contents, self.recorder = vendor, platform, contents, recorder
        self.loaded = loaded  # (ref, platform) -> the platform's image, or why it can't be read

    def get(self) -> PlatformImage:
        image: VendorImage = self.vendor.get()
        self.recorder.add("image_digest", image.digest)
        key = (image.ref, self.platform)
        if key not in self.loaded:
            try:
                self.loaded[key] = load_platform(image.layout, self.platform, self.contents)
            except (PlatformMissing, ImageUnreadable) as exc:
                self.loaded[key] = str(exc)
        found = self.loaded[key]
        if isinstance(found, str):
            pytest.fail(f"{image.ref} ({image.digest}): {found}", pytrace=False)
        self.recorder.add("platform_examined", found.platform)
        self.recorder.add("manifest_digest", found.manifest_digest)
        return found

    def attestations(self) -> IndexAttestations | str:
        """The attestations the pulled index holds, or why they can't be read (once per image)."""
        image: VendorImage = self.vendor.get()
        key = (image.ref, "attestations")
        if key not in self.loaded:
            try:
                self.loaded[key] = from_layout(image.layout)
            except Unreadable as exc:
                self.loaded[key] = str(exc)
        return self.loaded[key]


@pytest.fixture
def static_image(cell, vendor_image, image_claims, recorder, worker_cache) -> StaticImage:
    contents = list(((image_claims.get("checks") or {}).get("files") or {}).get("contents") or {})
    return StaticImage(vendor_image, cell["platform"], contents, recorder, worker_cache["claimed platforms"])


# --- signatures and attestations (suites/claims/test_supply_chain.py) ------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A signature test runs once per claimed signer, an attestation test once per claimed kind: the
    claims, not a matrix axis, say which (the plan's selection keeps each claim's own)."""
    if not os.environ.get(PLAN_ENV):
        return
    image = load_plan().get("image") or {}
    if "signer_family" in metafunc.fixturenames:
        metafunc.parametrize("signer_family", list(image.get("signed") or {}))
    if "attestation_kind" in metafunc.fixturenames:
        metafunc.parametrize("attestation_kind", list(image.get("attestations") or []))


@pytest.fixture(scope="session")
def claims_keys(endpoints, run_id: str) -> Iterator[Path]:
    """Where the verifiers keep their configuration and a copy of the claims' keys and certificates:
    under the run's state directory, which the roots see (nothing else of this host), removed at the end."""
    if not endpoints.state_dir:
        raise HarnessError("no state directory for the run's services: the verifiers have nowhere to keep keys")
    directory = Path(endpoints.state_dir) / "claims-keys" / safe_component(run_id)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def copied_image(image_claims, endpoints, run_id, recorder, bound_tools, worker_cache) -> Outcome:
    """The claimed image copied by the claims' copier (every manifest of its index) to the claims'
    registry, once per run; ``.get()`` gives the copy's reference, and fails the cell with the copier's
    words when it refused."""
    wanted = image_claims["after_copy"]
    if wanted["to"] == "embedded":
        skip_unless_started(endpoints, "registry", "embedded registry")
        host = endpoints.registry
    else:
        host = wanted["to"]
    copier = bound_tools.get(wanted["copier"], endpoints, role="copier")
    bound_tools.note(recorder, "copier", copier)

    def copy() -> str:
        ref = f"{host}/ocimatrix/claims/copied:{run_id}"
        copier.copy(source_transport(image_claims["source"]), f"docker://{ref}", all_platforms=True)
        return ref

    return cached_step(worker_cache["claims copies"], run_id, copy)
