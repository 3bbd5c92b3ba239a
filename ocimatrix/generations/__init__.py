"""Host generations: the same tools from newer Debian suites (trixie, sid), side by side with the host's.

``bookworm`` is this machine itself. Every other generation lives in a root of its own under the cache
(``prepare``), and runs in a private mount namespace (``GenerationHost``) whose daemons ``host/generation_daemons``
starts.
"""

from ocimatrix.generations.manifest import Manifest, read_manifest
from ocimatrix.generations.namespace import GenerationHost, StopReport
from ocimatrix.generations.roots import GenerationUnavailable, PreparedRoot, prepare, prepared_root

__all__ = [
    "GenerationHost",
    "GenerationUnavailable",
    "Manifest",
    "PreparedRoot",
    "StopReport",
    "prepare",
    "prepared_root",
    "read_manifest",
]
