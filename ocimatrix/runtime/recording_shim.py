"""A recording shim: an OCI runtime that saves the ``config.json`` an engine hands it, then becomes runc.

Engines are told about it as one more runtime (``ocimatrix-record``): dockerd's ``runtimes`` map,
podman's ``--runtime PATH``, ``ctr run --runc-binary PATH`` and a CRI runtime handler whose runc
options name it as ``BinaryName``. On ``create`` and ``run`` it copies the bundle's config.json
(``--bundle DIR``, ``-b DIR``, ``--bundle=DIR``, else the working directory, runc's convention) to
``records/<container id>/config.json`` with the argv beside it, then ``exec``s the real runtime with
the same arguments; every other command passes straight through. A failed copy never stops the
container: the test that looks for the record says it is missing.

One shim per run, under the run's state directory (``<state>/recording-shim/``); each service that
registers it installs it (``install`` is idempotent), so no service depends on another's start order.
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDING_RUNTIME = "ocimatrix-record"
REAL_RUNTIME = "/usr/bin/runc"
SHIM_DIR = "recording-shim"

_SCRIPT = """\
#!/bin/sh
# ocimatrix recording shim (generated): save the bundle's config.json on create/run, then exec the runtime.
real={real}
records={records}
command=
bundle=
want_bundle=
id=
for arg in "$@"; do
  if [ -n "$want_bundle" ]; then bundle=$arg; want_bundle=; id=$arg; continue; fi
  case "$command:$arg" in
    :create|:run) command=$arg ;;
    create:--bundle|create:-b|run:--bundle|run:-b) want_bundle=1 ;;
    create:--bundle=*|run:--bundle=*) bundle=${{arg#--bundle=}} ;;
  esac
  id=$arg
done
if [ -n "$command" ] && [ -n "$id" ]; then
  case "$id" in
    */*|.|..|-*) ;;
    *)
      dir="$records/$id"
      if mkdir -p "$dir" 2>/dev/null && cp "${{bundle:-.}}/config.json" "$dir/config.json.tmp" 2>/dev/null; then
        mv "$dir/config.json.tmp" "$dir/config.json"
        printf '%s\\n' "$@" > "$dir/argv"
      fi
      ;;
  esac
fi
exec "$real" "$@"
"""


def shim_dir(state_dir: str | Path) -> Path:
    return Path(state_dir) / SHIM_DIR


def shim_path(state_dir: str | Path) -> Path:
    """Where the run whose services live under ``state_dir`` has its shim (installed or not)."""
    return shim_dir(state_dir) / RECORDING_RUNTIME


def records_dir(state_dir: str | Path) -> Path:
    return shim_dir(state_dir) / "records"


def render_script(records: Path, real_runtime: str = REAL_RUNTIME) -> str:
    return _SCRIPT.format(real=shlex.quote(real_runtime), records=shlex.quote(str(records)))


def install(state_dir: str | Path, real_runtime: str = REAL_RUNTIME) -> Path:
    """Write the shim (mode 0755) and its records directory under ``state_dir``; returns its path."""
    path = shim_path(state_dir)
    records = records_dir(state_dir)
    records.mkdir(parents=True, exist_ok=True)
    text = render_script(records, real_runtime)
    if path.exists() and path.read_text() == text:
        return path
    # Written aside and renamed: a daemon exec'ing it never sees half a script.
    handle, tmp = tempfile.mkstemp(prefix=".shim-", dir=path.parent)
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    return path


@dataclass
class RecordedConfig:
    """One config.json the shim saved: the container id the engine gave, the document, the argv."""

    container_id: str
    config: Any
    argv: list[str]
    path: Path

    @property
    def env(self) -> list[str]:
        process = self.config.get("process") if isinstance(self.config, dict) else None
        env = process.get("env") if isinstance(process, dict) else None
        return [e for e in env if isinstance(e, str)] if isinstance(env, list) else []


def recorded(state_dir: str | Path) -> Iterator[RecordedConfig]:
    """Every config the shim saved in this run; one that isn't JSON comes back as its raw text."""
    for config_path in sorted(records_dir(state_dir).glob("*/config.json")):
        text = config_path.read_text(errors="replace")
        try:
            document: Any = json.loads(text)
        except ValueError:
            document = text
        argv_path = config_path.with_name("argv")
        argv = argv_path.read_text().splitlines() if argv_path.exists() else []
        yield RecordedConfig(config_path.parent.name, document, argv, config_path)


def find_by_env(state_dir: str | Path, entry: str) -> RecordedConfig | None:
    """The saved config whose ``process.env`` holds ``entry`` (a marker the test passed), if any."""
    return next((found for found in recorded(state_dir) if entry in found.env), None)
