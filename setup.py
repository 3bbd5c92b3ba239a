"""Build step that pyproject.toml can't express: the wheel carries suites/, schemas/ and matrix/.

They live at the top of the checkout (where users run ``pytest suites/...`` and edit matrices), so
``build_py`` copies them into ``ocimatrix/_data/`` of the build; ``ocimatrix.resources`` finds them
there in an installed wheel and at the top of the checkout otherwise. Editable installs skip the copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_FOLDERS = ("suites", "schemas", "matrix")  # keep in step with ocimatrix/resources.py


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "ocimatrix" / "_data"
        for folder in DATA_FOLDERS:
            shutil.rmtree(target / folder, ignore_errors=True)
            shutil.copytree(
                ROOT / folder,
                target / folder,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"),
            )


setup(cmdclass={"build_py": BuildPyWithData})
