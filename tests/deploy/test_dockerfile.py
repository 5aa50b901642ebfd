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


def test_two_stages_on_python_311_slim():
    text = DOCKERFILE.read_text()
    assert re.search(r"(?m)^ARG PYTHON_IMAGE=python:3\.11-slim", text)
    build, final = stages()
    assert build.startswith("FROM ${PYTHON_IMAGE} AS build")
    assert final.startswith("FROM ${PYTHON_IMAGE}\n")
    assert "pip install" in build and "pip" not in final


def test_final_stage_has_no_compilers_and_no_root():
    final = stages()[1]
    for tool in ("gcc", "build-essential", "apt-get", "make "):
        assert tool not in final
    assert "COPY --from=build /opt/venv /opt/venv" in final
    user = re.findall(r"(?m)^USER (\S+)", final)
    assert user and user[-1].split(":")[0] not in {"root", "0"}
    assert "PYTHONUNBUFFERED=1" in final


def test_one_entrypoint_for_every_role():
    final = stages()[1]
    assert 'ENTRYPOINT ["/opt/venv/bin/python", "/app/scripts/docker-entrypoint"]' in final
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert "*" in ignored
    for needed in ("services/", "migrations/", "nginx/", "scripts/", "pyproject.toml"):
        assert f"!{needed}" in ignored
