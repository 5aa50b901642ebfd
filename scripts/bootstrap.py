"""Make sure the project's virtualenv exists and is current, then re-run the caller in it.

Standard library only: this runs under whatever ``python3`` the machine has (3.11+).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("TASKPLATFORM_VENV", REPO / ".venv"))


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _wanted_stamp(extras: str) -> str:
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"{digest}:{extras}"


def ensure_venv(extras: str = "") -> None:
    """Create ``.venv`` and install the project (with ``extras``) when out of date."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this file runs before any version check)
        sys.exit("Python 3.11 or newer is needed.")
    stamp_file = VENV / ".taskplatform-installed"
    wanted = _wanted_stamp(extras)
    if stamp_file.exists() and stamp_file.read_text() == wanted and _venv_python().exists():
        return
    if not _venv_python().exists():
        print(f"creating virtualenv in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    target = f".[{extras}]" if extras else "."
    print(f"installing {target} into {VENV} (first run takes a minute) ...", flush=True)
    subprocess.run(
        [
            str(_venv_python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            target,
        ],
        cwd=REPO,
        check=True,
    )
    stamp_file.write_text(wanted)


def reexec_in_venv(script: str, extras: str = "") -> None:
    """Re-run ``script`` with the virtualenv's interpreter unless already in it."""
    ensure_venv(extras)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(_venv_python()), [str(_venv_python()), script, *sys.argv[1:]])
