"""The claims as JUnit XML: one testcase per claim, so a CI system shows claims, not cells.

contradicted -> <failure>, error -> <error>, unverifiable -> <skipped> (with why), verified -> pass.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ocimatrix.claims.judge import Judgement, counts


def junit_xml(product: str, judgements: list[Judgement]) -> str:
    found = counts(judgements)
    suite = ET.Element(
        "testsuite",
        name=f"claims: {product}",
        tests=str(len(judgements)),
        failures=str(found["contradicted"]),
        errors=str(found["error"]),
        skipped=str(found["unverifiable"]),
    )
    for j in judgements:
        case = ET.SubElement(
            suite, "testcase", classname=f"claims.{j.claim.subject}", name=f"{j.claim.id}: {j.claim.title}"
        )
        detail = "\n".join(
            f"{c.record.outcome}: {c.record.test} {c.note}\n  reason: {c.record.reason[:1000]}\n  repro:\n    "
            + "\n    ".join(c.record.repro)
            for c in j.cells
            if c.record.outcome != "passed" or c.note
        )
        if j.verdict == "contradicted":
            ET.SubElement(case, "failure", message=j.reason[:1000]).text = detail
        elif j.verdict == "error":
            ET.SubElement(case, "error", message=j.reason[:1000]).text = detail
        elif j.verdict == "unverifiable":
            ET.SubElement(case, "skipped", message=f"unverifiable here: {j.reason[:1000]}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
