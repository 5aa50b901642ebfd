"""Podman on this machine, for ``scripts/container-smoke``: the engine, the base images
made locally, the platform's image, and the compose override podman-compose needs.

- The engine: rootful podman, runc, netavark and debootstrap from Debian's packages,
  with ``deploy/podman/containers.conf`` (runc, cgroupfs, file events, ulimits) through
  ``CONTAINERS_CONF``.
- Base images: no image registry is reachable, so ``debootstrap --variant=minbase
  bookworm`` from the machine's configured Debian mirror is imported as
  ``localhost/taskplatform-debian:bookworm``, and the stand-ins under
  ``deploy/standins/`` (Python 3.11, PostgreSQL, Redis, nginx, Prometheus) are built on
  it. They stay in podman's storage, so a second run builds nothing. Grafana has no
  stand-in (no Debian package): the smoke stack runs without it.
- The image: the repository's Dockerfile, unchanged, with ``PYTHON_IMAGE`` set to the
  Python stand-in and the machine's CA bundle handed to pip as a build secret.
- The override: podman-compose ignores ``configs:`` (each config becomes a bind mount)
  and ``deploy.replicas`` (one-shot jobs get a profile so ``up`` leaves them alone).
  Services without a stand-in get a profile that is never enabled.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = REPO / "deploy" / "podman" / "containers.conf"
STANDINS = REPO / "deploy" / "standins"
PACKAGES = ["podman", "runc", "netavark", "aardvark-dns", "iptables", "debootstrap"]
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
BASE_IMAGE = "localhost/taskplatform-debian:bookworm"
SUITE = "bookworm"
# Stand-in name -> the tag it gets (PYTHON_IMAGE for the Dockerfile; the others replace
# the compose file's images in the override).
STANDIN_TAGS = {
    "python": "localhost/standin-python:3.11-bookworm",
    "postgres": "localhost/standin-postgres:15-bookworm",
    "redis": "localhost/standin-redis:7-bookworm",
    "nginx": "localhost/standin-nginx:bookworm",
    "prometheus": "localhost/standin-prometheus:bookworm",
}
STANDIN_FOR_SERVICE = {
    "postgres": "postgres",
    "redis": "redis",
    "nginx": "nginx",
    "prometheus": "prometheus",
}
# Services that run once when asked (`compose run`), never on `up`.
ONE_SHOT_SERVICES = ("backup", "restore")
# Services with no stand-in on this machine (Grafana is in no Debian archive): left out.
WITHOUT_STANDIN = ("grafana",)


class NoEngine(Exception):
    """No container engine can run on this machine (the reason is the message)."""


def podman_env() -> dict[str, str]:
    """The environment every podman and podman-compose call runs with."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(
    *args: str, check: bool = True, capture: bool = False, **kwargs
) -> subprocess.CompletedProcess:
    """Run ``podman`` with the project's containers.conf."""
    return subprocess.run(
        ["podman", *args],
        env=podman_env(),
        check=check,
        text=True,
        capture_output=capture,
        **kwargs,
    )


def apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def ensure_engine() -> None:
    """Install podman and what it needs when missing, then prove a container runs.

    Raises :class:`NoEngine` where none can: not root (the stack needs rootful podman)
    without podman installed, no apt-get to install it, or a container that cannot start.
    """
    missing = [p for p in ("podman", "runc", "debootstrap") if shutil.which(p) is None]
    if missing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise NoEngine(
                f"{', '.join(missing)} missing and not installable here (needs root and apt-get)"
            )
        print(f"container-smoke: installing {' '.join(PACKAGES)}", flush=True)
        try:
            apt_install(PACKAGES)
        except subprocess.CalledProcessError as exc:
            raise NoEngine(f"apt-get could not install podman: {exc}") from exc
    if os.geteuid() != 0:
        raise NoEngine("rootful podman is needed: run as root")
    info = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, capture=True)
    if info.returncode != 0:
        raise NoEngine(f"podman info failed: {info.stderr.strip()[-500:]}")


def debian_mirror(places: tuple[Path, ...] = APT_SOURCES) -> str:
    """The Debian mirror apt on this machine is configured with (one-line or deb822
    sources; the security archive is not a mirror of the suite)."""
    files: list[Path] = []
    for place in places:
        files += sorted(place.iterdir()) if place.is_dir() else [place]
    for path in files:
        if not path.is_file() or path.suffix not in {".list", ".sources", ""}:
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(r"(?m)^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text):
            uri = match.group(1).rstrip("/")
            if uri.startswith("http") and "security" not in uri and uri.endswith("/debian"):
                return uri
    return "http://deb.debian.org/debian"


def image_exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


def ensure_base_image() -> None:
    """``debootstrap --variant=minbase`` the suite and import it, unless already there."""
    if image_exists(BASE_IMAGE):
        return
    mirror = debian_mirror()
    print(f"container-smoke: debootstrap {SUITE} (minbase) from {mirror}", flush=True)
    with tempfile.TemporaryDirectory(prefix="taskplatform-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(root), mirror],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (root / "etc/apt/sources.list").write_text(
            f"deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\n"
        )
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True)
        for leftover in (root / "var/lib/apt/lists").glob("*_*"):
            leftover.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        podman(
            "import",
            "--change",
            'CMD ["/bin/bash"]',
            "-",
            BASE_IMAGE,
            stdin=tar.stdout,
            stdout=subprocess.DEVNULL,
        )
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the debootstrapped root failed")


def ensure_standins() -> dict[str, str]:
    """Build each stand-in image missing from podman's storage; return name -> tag."""
    ensure_base_image()
    for name, tag in STANDIN_TAGS.items():
        if image_exists(tag):
            continue
        print(f"container-smoke: building stand-in {tag}", flush=True)
        podman(
            "build",
            "--network",
            "host",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "--tag",
            tag,
            "--file",
            str(STANDINS / name / "Containerfile"),
            str(STANDINS / name),
            stdout=subprocess.DEVNULL,
        )
    return dict(STANDIN_TAGS)


def pip_cert() -> Path | None:
    """The CA bundle pip uses on this machine (PIP_CERT, pip's config, or SSL_CERT_FILE)."""
    candidates = [os.environ.get("PIP_CERT")]
    config = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"],
        capture_output=True,
        text=True,
        check=False,
    )
    if config.returncode == 0:
        candidates.append(config.stdout.strip().strip("'\""))
    candidates += [os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("SSL_CERT_FILE")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def build_image(tag: str, python_image: str) -> None:
    """Build the platform's image from the Dockerfile (layers cached by podman)."""
    command = [
        "build",
        "--network",
        "host",
        "--build-arg",
        f"PYTHON_IMAGE={python_image}",
        "--tag",
        tag,
    ]
    cert = pip_cert()
    if cert is not None:
        command += ["--secret", f"id=pip_cert,src={cert}"]
    podman(*command, "--file", str(REPO / "Dockerfile"), str(REPO))


def compose_override(
    compose: dict,
    standins: dict[str, str],
    *,
    extra_services: dict | None = None,
) -> dict:
    """The override podman-compose needs to run ``compose`` like docker compose would.

    Each ``configs:`` entry becomes a read-only bind mount of its file at its target;
    the backing services run the stand-in images; the one-shot jobs get the ``ops``
    profile (podman-compose ignores ``deploy.replicas: 0``).
    """
    files = {name: config["file"] for name, config in (compose.get("configs") or {}).items()}
    services: dict[str, dict] = {}
    for name, service in compose["services"].items():
        override: dict = {}
        mounts = []
        for entry in service.get("configs", []):
            source = entry if isinstance(entry, str) else entry["source"]
            target = f"/{source}" if isinstance(entry, str) else entry.get("target", f"/{source}")
            path = (REPO / files[source]).resolve()
            mounts.append(f"{path}:{target}:ro")
        if mounts:
            override["volumes"] = mounts  # podman-compose adds these to the service's own
        if name in STANDIN_FOR_SERVICE:
            override["image"] = standins[STANDIN_FOR_SERVICE[name]]
        if name in ONE_SHOT_SERVICES:
            override["profiles"] = ["ops"]
        if name in WITHOUT_STANDIN:
            override["profiles"] = ["unavailable"]
        if override:
            services[name] = override
    services.update(extra_services or {})
    return {"services": services}


def write_override(path: Path, override: dict) -> Path:
    path.write_text(
        "# Generated by scripts/container-smoke for podman-compose. Do not edit.\n"
        + yaml.safe_dump(override, sort_keys=False)
    )
    return path
