"""The runtime-spec version dimension: one probe config, declared as each released runtime-spec version.

Engines of different generations write different ``ociVersion`` values into the config.json they hand
their runtime; an older runtime may meet a config declared newer than the spec it implements, and a
newer one a config declared older. Each cell runs the very same probe (``sh -c 'echo ran'`` in the
shared rootfs) with only ``ociVersion`` changed, and records what the runtime did with it
(``evidence["oci_version"]``):

- ``runs``: create and start succeed and the probe prints ``ran`` (passed). When the declared release
  is newer than the one the runtime says it implements, the record says so: config.md's
  Extensibility makes it ignore the properties it doesn't know, and it did run the config;
- ``refused``: create or start fails. The runtime's words are the answer, with the step naming the
  release. A refusal is failed whatever the release: config.md says only that ``ociVersion`` is the
  SemVer release the bundle complies with, and gives a runtime no leave to refuse a well-formed one.
  A runtime that refuses the releases newer than it knows is a known finding listed with ``match:`` on
  its words and ``versions:`` in the matrix, never a skip.

One named test per release (``test_runs_config_declared_as_1_3_0``), not a pytest parameter: the matrix's
expectations are keyed on a test's name and its cell, so a refusal of the releases newer than a runtime
knows can be listed without listing the releases it runs (those would turn XPASS).

The other tests keep the suite's default ``ociVersion`` (``ocimatrix.runtime.config.OCI_VERSION``).
"""

from __future__ import annotations

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import fail_with
from ocimatrix.runtime.config_crossing import relation
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

# Every runtime-spec release from 1.0.2 to the newest (opencontainers/runtime-spec tags v1.0.2 ... v1.3.0).
SPEC_RELEASES = ("1.0.2", "1.1.0", "1.2.0", "1.2.1", "1.3.0")
PROBE = "echo ran"


def runs_config_declared_as(lab, recorder, release: str) -> None:
    declared, source = lab.declared_spec_version()
    record = {"declared_as": release, "runtime_declares": declared, "source": source}
    record["relation"] = relation(release, declared)
    container_id, bundle = lab.bundle(lab.config(PROBE, oci_version=release))
    container, created = lab.create_bundle(container_id, bundle)
    step = f"{lab.name} create of a config.json declared as runtime-spec {release}"
    if created.ok:
        started = lab.runtime.start(container.id)
        step = f"{lab.name} start of a config.json declared as runtime-spec {release}"
        result = started
    else:
        result = created
    if not result.ok:
        record.update(outcome="refused", answer=result.answer)
        recorder.add("oci_version", record)
        fail_with(
            f"{lab.name} refuses a config.json declared as runtime-spec {release} "
            f"(it declares {declared or 'no version'}): {result.words}",
            step=step,
            answer=result.answer,
        )
    lab.wait_stopped(container)
    said = container.output().strip()
    warned = (created.stderr + container.errors()).strip()
    record.update(outcome="runs", stdout=said[-300:])
    if warned:
        record["warning"] = warned[-600:]
    if record["relation"] == "newer":
        record["note"] = f"declared newer than {declared}: properties it doesn't know would be ignored"
    recorder.add("oci_version", record)
    if said != "ran":
        fail_with(
            f"{lab.name} ran a config.json declared as runtime-spec {release}, but the probe printed {said!r}",
            step=f"the probe of a config.json declared as runtime-spec {release}",
            answer=f"stdout {said[-500:]!r}, stderr {container.errors()[-500:]!r}",
        )


def _declared_as(release: str):
    @spec("runtime-spec/config.md#specification-version", f"config: Specification version: ociVersion {release}")
    def test(lab, recorder):
        runs_config_declared_as(lab, recorder, release)

    test.__name__ = test.__qualname__ = f"test_runs_config_declared_as_{release.replace('.', '_')}"
    test.__doc__ = f"The probe config declared as runtime-spec {release}: run, refused (its words) or run ignoring."
    return test


for _release in SPEC_RELEASES:
    _made = _declared_as(_release)
    globals()[_made.__name__] = _made
del _release, _made
