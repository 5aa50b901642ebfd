"""The Dockerfile: hadolint clean, multi-stage, and a final stage that is slim, runs as a
non-root user and starts every role through scripts/docker-entrypoint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from scripts import stack

REPO = stack.REPO
DOCKERFILE = REPO / "Dockerfile"


def stages() -> list[str]:
    """The Dockerfile's stages, each from its FROM line on."""
    return re.split(r"(?m)^(?=FROM )", DOCKERFILE.read_text())[1:]


def test_hadolint_passes():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stages_on_python_311_slim():
    text = DOCKERFILE.read_text()
    assert re.search(r"(?m)^ARG PYTHON_IMAGE=python:3\.11-slim", text)
    requirements, build, final = stages()
    assert requirements.startswith("FROM ${PYTHON_IMAGE} AS requirements")
    assert build.startswith("FROM ${PYTHON_IMAGE} AS build")
    assert final.startswith("FROM ${PYTHON_IMAGE}\n")
    assert "pip install" in build and "pip" not in final


def test_dependencies_are_installed_from_the_requirements_alone():
    build = stages()[1]
    # The dependency layer sees only requirements.txt (made from pyproject.toml's
    # dependencies), so a change of dev tools or lint settings does not rebuild it.
    install = build.index("pip install --no-cache-dir --requirement")
    assert build.index("COPY --from=requirements /tmp/requirements.txt") < install
    assert build.index("COPY pyproject.toml") > install
    # pip trusts the build secret's CA bundle when one is given (a TLS-intercepting proxy).
    assert build.count("--mount=type=secret,id=pip_cert") == 2


def test_final_stage_has_no_compilers_and_no_root():
    final = stages()[2]
    for tool in ("gcc", "build-essential", "make ", "-dev"):
        assert tool not in final
    # Its one package (pg_dump for the backup role) without recommends and without lists.
    assert "apt-get install -y --no-install-recommends postgresql-client" in final
    assert "rm -rf /var/lib/apt/lists/*" in final
    assert "COPY --from=build /opt/venv /opt/venv" in final
    user = re.findall(r"(?m)^USER (\S+)", final)
    assert user and user[-1].split(":")[0] not in {"root", "0"}
    assert "PYTHONUNBUFFERED=1" in final


def test_one_entrypoint_for_every_role():
    final = stages()[2]
    assert 'ENTRYPOINT ["/opt/venv/bin/python", "/app/scripts/docker-entrypoint"]' in final
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert "*" in ignored
    for needed in ("services/", "migrations/", "nginx/", "scripts/", "pyproject.toml"):
        assert f"!{needed}" in ignored
