"""scripts/containers.py, the pieces of the container smoke test that need no engine: the
override podman-compose runs docker-compose.yml with, and where the base image's Debian
mirror comes from. (scripts/container-smoke itself runs the whole stack in CI.)"""

from __future__ import annotations

import yaml

from scripts import containers

COMPOSE = yaml.safe_load((containers.REPO / "docker-compose.yml").read_text())


def test_every_config_becomes_a_read_only_bind_mount_at_its_target():
    override = containers.compose_override(COMPOSE, containers.STANDIN_TAGS)["services"]
    for name, service in COMPOSE["services"].items():
        wanted = []
        for entry in service.get("configs", []):
            # As written: podman-compose interpolates ${PROMETHEUS_CONFIG:-compose} itself.
            path = (containers.REPO / COMPOSE["configs"][entry["source"]]["file"]).resolve()
            wanted.append(f"{path}:{entry['target']}:ro")
        if wanted:
            assert override[name]["volumes"] == wanted, name
    nginx = override["nginx"]["volumes"]
    assert any(v.endswith(":/etc/nginx/routes.conf:ro") for v in nginx)


def test_backing_services_run_the_stand_ins_and_jobs_wait_to_be_asked():
    override = containers.compose_override(
        COMPOSE, containers.STANDIN_TAGS, extra_services={"smtp": {"image": "x"}}
    )["services"]
    for service, standin in containers.STANDIN_FOR_SERVICE.items():
        assert override[service]["image"] == containers.STANDIN_TAGS[standin]
    assert override["backup"]["profiles"] == ["ops"]
    assert override["restore"]["profiles"] == ["ops"]
    assert override["grafana"]["profiles"] == ["unavailable"]
    assert override["smtp"] == {"image": "x"}
    # The platform's own services are left as the compose file has them.
    assert "user" not in override and "migrate" not in override


def test_debian_mirror_is_read_from_apt_sources(tmp_path):
    listing, directory = tmp_path / "sources.list", tmp_path / "sources.list.d"
    directory.mkdir()
    (directory / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    assert containers.debian_mirror((listing, directory)) == "http://mirror.example/debian"
    listing.write_text("deb [arch=amd64] http://other.example/debian bookworm main\n")
    assert containers.debian_mirror((listing, directory)) == "http://other.example/debian"
    assert containers.debian_mirror((tmp_path / "none",)) == "http://deb.debian.org/debian"
