"""Registry conformance against the OCI distribution-spec v1.1: the checks behind suites/distribution.

Each check is a plain function taking a ``DistContext`` (a client for one registry target plus the
content it pushed, cleaned up afterwards); it raises ``CheckFailed`` with a message a registry
vendor can act on, or ``NotApplicable`` when the registry lawfully lacks an optional feature.
The suite's tests are one-liners over these, and the harness's self-tests run the same checks
against a deliberately broken registry proxy.

Modules: ``client`` (HTTP with timeouts, curl repro lines), ``expect`` (status/header/error-body
assertions), ``content`` (test blobs, images, artifacts), ``context`` (per-test repositories and
cleanup), and one module per workflow: ``pull``, ``push``, ``discovery``, ``management``.
"""
