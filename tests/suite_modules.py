"""A module of suites/, loaded by path for the self-tests that feed recorded answers through it (its test
functions are not collected here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_suite_module(name: str, path: Path) -> ModuleType:
    """``path`` as module ``name``: registered in sys.modules (dataclasses look their module up there), with
    its own directory importable while it loads, as the suite's rootdir makes it (cri_probe, for one)."""
    directory = str(path.parent)
    sys.path.insert(0, directory)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"no module at {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(directory)
    return module
