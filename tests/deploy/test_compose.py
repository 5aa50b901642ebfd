"""docker-compose.yml: accepted by ``docker stack config`` (the Swarm loader, no engine
needed) and the compose-spec schema, and consistent with itself and the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts import stack
from services.common.registry import SERVICES, STREAM

REPO = stack.REPO
COMPOSE = REPO / "docker-compose.yml"
WORKERS = {
    "notification-worker": "notification",
    "activity-worker": "activity-log",
    "reporting-worker": "reporting",
    "project-task-worker": "project-task",
    "comment-worker": "comment",
    "attachment-worker": "attachment",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_docker_stack_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker client is not installed")
    result = subprocess.run(
        [docker, "stack", "config", "-c", str(COMPOSE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == set(yaml.safe_load(COMPOSE.read_text())["services"])


def test_compose_spec_schema_accepts_the_file():
    check = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_role_of_the_platform_is_declared(services):
    for info in SERVICES.values():
        assert services[info.name]["command"] == ["web", info.name]
        assert services[info.name]["healthcheck"]["test"] == [
            "CMD",
            "healthcheck",
            "--port",
            str(info.port),
        ]
    for name, service in WORKERS.items():
        assert services[name]["command"] == ["worker", service]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["health"]["command"] == ["health"]
    assert services[STREAM.name]["command"] == ["stream"]
    assert services[STREAM.name]["healthcheck"]["test"][-1] == str(STREAM.port)
    assert STREAM.name in services["nginx"]["depends_on"]
    assert {"postgres", "redis", "nginx", "beat"} <= set(services)


def test_every_service_has_an_image_a_healthcheck_and_a_deploy_block(services):
    image = "${REGISTRY:-localhost}/taskplatform:${TAG:-latest}"
    for name, service in services.items():
        assert service.get("image"), name
        assert "container_name" not in service, name
        assert isinstance(service.get("deploy"), dict), name
        assert "healthcheck" in service, name
        if service["image"] == image:
            assert service["build"]["context"] == ".", name
    # Only the one-shot jobs have nothing to probe.
    disabled = [n for n, s in services.items() if s["healthcheck"].get("disable")]
    assert disabled == ["migrate", "backup", "restore"]


def test_app_healthchecks_use_the_console_commands_not_curl(services):
    for name, service in services.items():
        test = service["healthcheck"].get("test", [])
        assert "curl" not in " ".join(test), name
        if service["image"].endswith("taskplatform:${TAG:-latest}") and test:
            assert test[:2] in (["CMD", "healthcheck"], ["CMD", "worker-healthcheck"]), name


def test_no_depends_on_conditions(services):
    # `docker stack config` refuses the long form ("services.x.depends_on must be a
    # list"): the entrypoint's bounded wait for the database does what service_healthy
    # would (test_entrypoint.py).
    for name, service in services.items():
        assert isinstance(service.get("depends_on", []), list), name


def test_every_process_starts_after_the_backing_services_it_uses(services):
    """compose and podman-compose start PostgreSQL and Redis first (Swarm ignores the
    order; the entrypoint waits either way)."""
    image = "${REGISTRY:-localhost}/taskplatform:${TAG:-latest}"
    for name, service in services.items():
        if service["image"] != image:
            continue
        environment = service["environment"]
        wanted = set()
        if "DATABASE_URL" in environment or "USER_DATABASE_URL" in environment:
            wanted.add("postgres")
        if name not in {"migrate", "backup", "restore"}:
            wanted.add("redis")
        assert set(service.get("depends_on", [])) == wanted, name


def test_nginx_is_the_only_public_port(services):
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["nginx", "grafana"]
    assert services["nginx"]["ports"] == ["${HTTP_PORT:-8080}:8080"]
    # Grafana only on the host's loopback unless the operator says otherwise.
    assert services["grafana"]["ports"] == ["${GRAFANA_PORT:-127.0.0.1:3000}:3000"]


def test_exactly_one_beat_replaced_stop_first(services):
    beats = [name for name, s in services.items() if s.get("command", [None])[0] == "beat"]
    assert beats == ["beat"]
    deploy = services["beat"]["deploy"]
    assert deploy["replicas"] == 1
    assert deploy["update_config"]["order"] == "stop-first"


def test_web_services_roll_start_first_and_roll_back(services):
    for name in [*(info.name for info in SERVICES.values()), STREAM.name, "health", "nginx"]:
        deploy = services[name]["deploy"]
        if name == "nginx":
            # One per node: `docker compose up` starts exactly one, which alone can
            # publish HTTP_PORT on a host; a fixed replica count of 2 could not start.
            assert deploy["mode"] == "global" and "replicas" not in deploy
        else:
            assert deploy["replicas"] >= 2, name
        assert deploy["update_config"]["order"] == "start-first", name
        assert deploy["update_config"]["failure_action"] == "rollback", name
        assert "rollback_config" in deploy and "restart_policy" in deploy, name
        assert {"limits", "reservations"} <= set(deploy["resources"]), name


def test_migration_job_runs_once(services):
    deploy = services["migrate"]["deploy"]
    assert deploy["replicas"] == 1
    assert deploy["restart_policy"]["condition"] in {"on-failure", "none"}
    assert "update_config" not in deploy


def test_backup_and_restore_run_only_when_asked(services):
    migrate = services["migrate"]["environment"]
    for name in ("backup", "restore"):
        service = services[name]
        assert service["command"] == [name]
        assert service["deploy"]["replicas"] == 0, name
        assert service["deploy"]["restart_policy"]["condition"] == "none", name
        environment = service["environment"]
        for info in SERVICES.values():
            key = f"{info.env_prefix}_DATABASE_URL"
            assert environment[key] == migrate[key], (name, key)
        # The same volumes the attachment service and the reporting worker write.
        mounts = dict(v.split(":")[:2] for v in service["volumes"])
        assert mounts["uploads"] == environment["ATTACHMENT_STORAGE_DIR"]
        assert mounts["uploads"] == services["attachment"]["environment"]["ATTACHMENT_STORAGE_DIR"]
        assert mounts["reports"] == environment["REPORT_STORAGE_DIR"]
        assert mounts["backups"] == environment["BACKUP_DIR"]


def test_postgres_major_matches_the_images_pg_dump(services):
    # The image installs Debian bookworm's postgresql-client (15); pg_dump refuses newer.
    assert services["postgres"]["image"].startswith("postgres:15")
    assert "postgresql-client" in (REPO / "Dockerfile").read_text()
    assert "python:3.11-slim-bookworm" in (REPO / "Dockerfile").read_text()


def test_every_reference_exists_and_every_declaration_is_used(compose, services):
    used: dict[str, set[str]] = {"networks": set(), "secrets": set(), "configs": set()}
    used["volumes"] = set()
    for name, service in services.items():
        for kind in ("networks", "secrets", "configs"):
            for entry in service.get(kind, []):
                ref = entry if isinstance(entry, str) else entry["source"]
                assert ref in (compose.get(kind) or {}), f"{name}: {kind} {ref} is not declared"
                used[kind].add(ref)
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"
                used["volumes"].add(source)
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    for kind, names in used.items():
        assert set(compose.get(kind) or {}) == names, f"unused {kind}"


def test_config_files_exist(compose):
    for name, config in compose["configs"].items():
        variable = re.search(r"\$\{(\w+):-(\w+)\}", config["file"])
        if variable is None:
            assert (REPO / config["file"]).is_file(), name
            continue
        # PROMETHEUS_CONFIG: compose (the default) or swarm.
        for value in (variable.group(2), "swarm"):
            assert (REPO / config["file"].replace(variable.group(0), value)).is_file(), name


def test_secret_files_are_the_ones_make_secrets_writes(compose):
    script = (REPO / "deploy" / "make-secrets").read_text()
    written = set(re.findall(r"\b\w+(?:_password|_token|_key)\b", script))
    for name, secret in compose["secrets"].items():
        assert secret["file"] == "${SECRETS_DIR:-./deploy/secrets}/" + name
        assert name in written, name
    assert "deploy/secrets/" in (REPO / ".gitignore").read_text().splitlines()


def test_secrets_reach_services_only_through_files(services):
    for name, service in services.items():
        environment = service.get("environment", {})
        granted = set(service.get("secrets", []))
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key) and not key.endswith("_FILE"):
                pytest.fail(f"{name}: {key} carries a secret in plain text")
            if key.endswith("_FILE") and str(value).startswith("/run/secrets/"):
                secret = str(value).removeprefix("/run/secrets/")
                assert secret in granted, f"{name}: {key} needs secret {secret}"
        if service["image"].endswith("taskplatform:${TAG:-latest}"):
            assert environment["SERVICE_TOKEN_FILE"] == "/run/secrets/service_token", name


def test_each_service_uses_its_own_database_and_role(services):
    for info in SERVICES.values():
        env = services[info.name]["environment"]
        database = stack.DATABASE_NAMES[info.name]
        role = info.package + "_service"
        assert env["DATABASE_URL"] == f"postgresql://{role}@postgres:5432/{database}"
        assert env["DATABASE_PASSWORD_FILE"] == f"/run/secrets/{info.package}_db_password"
        migrate = services["migrate"]["environment"]
        assert migrate[f"{info.env_prefix}_DATABASE_URL"] == env["DATABASE_URL"]
        assert migrate[f"{info.env_prefix}_DATABASE_PASSWORD_FILE"] == env["DATABASE_PASSWORD_FILE"]


def test_postgres_and_redis_keep_their_data(services):
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    init = services["postgres"]["configs"][0]
    assert init["target"].startswith("/docker-entrypoint-initdb.d/")
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "redisdata:/data" in services["redis"]["volumes"]
