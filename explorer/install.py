"""Where the project's files are: beside the package in a source checkout, or where `pip install` put them.

`pip install .` installs the packages `explorer` and `ui` and, in a folder `latent_lab` beside them,
the app's entry script `app.py` and the shipped checkpoints (pyproject.toml maps the project's root
folder to it), so the shipped models are found wherever the package is installed.
"""

from __future__ import annotations

from pathlib import Path

INSTALLED_FOLDER = "latent_lab"


def project_path(name: str) -> Path:
    """The project's file or folder `name` (e.g. "app.py", "checkpoints"): in the source checkout if
    this package is one, else in the installed `latent_lab` folder (the checkout's path if neither has it)."""
    beside = Path(__file__).resolve().parent.parent
    for candidate in (beside / name, beside / INSTALLED_FOLDER / name):
        if candidate.exists():
            return candidate
    return beside / name
