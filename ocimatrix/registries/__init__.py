"""The registry API the suites and commands use, in one import (stable names).

One module per job: ``targets`` (a matrix's ``registries:`` entry checked and resolved), ``auth``
(Basic/Bearer challenges over httpx), ``redaction`` (secrets out of everything written) and ``pool``
(a process's registries, container-started ones included).

- ``RegistryTarget`` and ``resolve_target(name, settings, endpoints=None, env=None, started_url=None)``
- ``TargetUnavailable`` (the cell can't run here: skip it with the message)
- ``registry_settings_problems(settings)`` -> ``[(field path, message)]`` for the matrix checker
- ``RegistryAuth``: an ``httpx.Auth`` answering Basic and Bearer (realm/service/scope) challenges
- ``register_secret(text)``, ``redact(value)``: deep redaction of str/list/dict values
- ``http_client(target, timeout=None, auth=True)``: an ``httpx.Client`` with the target's TLS and auth
- ``RegistryPool``: the matrix's registries for one process
"""

from __future__ import annotations

from ocimatrix.registries.auth import RegistryAuth, RegistryAuthError, http_client, require_answering
from ocimatrix.registries.pool import RegistryPool
from ocimatrix.registries.redaction import REDACTED, redact, register_secret
from ocimatrix.registries.targets import (
    DEFAULT_NAMESPACE,
    RegistryTarget,
    TargetUnavailable,
    load_credentials_file,
    registry_settings_problems,
    resolve_target,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "REDACTED",
    "RegistryAuth",
    "RegistryAuthError",
    "RegistryPool",
    "RegistryTarget",
    "TargetUnavailable",
    "http_client",
    "load_credentials_file",
    "redact",
    "register_secret",
    "require_answering",
    "registry_settings_problems",
    "resolve_target",
]
