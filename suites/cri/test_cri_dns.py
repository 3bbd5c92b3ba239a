"""The pod's DnsConfig written to its containers' /etc/resolv.conf (critest's networking.go DNS check).

Only the file is checked: the server named is never asked anything (the address is critest's, on no network here)."""

from __future__ import annotations

import pytest
from cri_probe import SERVE

from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
DNS = api.DNSConfig(servers=["10.10.10.10"], searches=["example.test"], options=["ndots:8"])
WANTED = {"nameserver 10.10.10.10", "search example.test", "options ndots:8"}


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "PodSandboxConfig.dns_config -> the container's /etc/resolv.conf")
def test_pod_dns_config(cell, cri, new_pod, probe, recorder):
    pod = new_pod("dns", dns=DNS)
    container_id = pod.start("dns", probe, command=SERVE)
    result = cri.exec_sync(container_id, ["cat", "/etc/resolv.conf"], timeout=10)
    text = result.stdout.decode(errors="replace")
    recorder.add("resolv_conf", text)
    lines = {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    # critest wants each line among the file's, and stderr empty; here nothing else may be in it (no host server).
    if result.exit_code != 0 or result.stderr or lines != WANTED:
        fail_with(
            f"the container's /etc/resolv.conf must hold exactly {sorted(WANTED)} from the pod's DnsConfig",
            step="ExecSync cat /etc/resolv.conf",
            answer=f"exit {result.exit_code}, stdout {text!r}, stderr {result.stderr!r}",
        )
