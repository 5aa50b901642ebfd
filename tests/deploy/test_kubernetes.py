"""The Kubernetes manifests (deploy/kustomization.yaml and deploy/k8s/): valid against the
Kubernetes API schemas offline (kubernetes-validate, strict), and the same topology as
docker-compose.yml: one Deployment per service and worker with the same role and
database, exactly one beat, the migration Job, probes, resources, autoscalers, the
Secret's keys, volumes, and nginx's upstreams resolving to Services."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from scripts import stack
from services.common.registry import SERVICES

REPO = stack.REPO
DEPLOY = REPO / "deploy"
KUSTOMIZATION = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
# The oldest Kubernetes release still commonly run, and the newest the package knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
APP_IMAGE = "localhost/taskplatform:latest"


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def manifest_files() -> list[Path]:
    return sorted((DEPLOY / "k8s").rglob("*.yaml"))


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict]:
    """Every resource kustomize applies, by (kind, name)."""
    found = {}
    for entry in KUSTOMIZATION["resources"]:
        for document in documents(DEPLOY / entry):
            key = (document["kind"], document["metadata"]["name"])
            assert key not in found, f"{key} declared twice"
            found[key] = document
    return found


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]


def pod_spec(resource: dict) -> dict:
    spec = resource["spec"]
    if resource["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def app_container(resource: dict) -> dict:
    [container] = [c for c in pod_spec(resource)["containers"] if c["image"] == APP_IMAGE]
    return container


def env_of(container: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_valid_for_kubernetes(path, version):
    for document in documents(path):
        kubernetes_validate.validate(document, version, strict=True)


def test_kustomization_lists_every_manifest_but_the_manual_restore():
    listed = {DEPLOY / entry for entry in KUSTOMIZATION["resources"]}
    restore = DEPLOY / "k8s" / "jobs" / "restore.yaml"
    assert listed == set(manifest_files()) - {restore}
    # The generators' files are the ones docker-compose.yml uses.
    [init] = KUSTOMIZATION["configMapGenerator"][0]["files"]
    assert init.split("=")[1] == "postgres/init.sh" and (DEPLOY / "postgres" / "init.sh").exists()
    assert KUSTOMIZATION["images"][0]["name"] == APP_IMAGE.split(":")[0]


def test_secret_keys_are_the_compose_secrets(resources, compose):
    generator = KUSTOMIZATION["secretGenerator"][0]
    keys = {Path(f).name for f in generator["files"]}
    compose_secrets = yaml.safe_load((REPO / "docker-compose.yml").read_text())["secrets"]
    # Grafana is not part of the manifests (a cluster brings its own monitoring).
    assert keys == set(compose_secrets) - {"grafana_admin_password"}
    for (kind, name), resource in resources.items():
        if kind not in {"Deployment", "StatefulSet", "Job", "CronJob"}:
            continue
        for volume in pod_spec(resource).get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] == generator["name"], name
                assert {item["key"] for item in volume["secret"]["items"]} <= keys, name


def test_one_deployment_per_compose_process_with_the_same_role(resources, compose):
    for name, service in compose.items():
        if service.get("image") != "${REGISTRY:-localhost}/taskplatform:${TAG:-latest}":
            continue
        if name == "migrate":
            job = resources[("Job", "migrate")]
            assert app_container(job)["args"] == ["migrate"]
            continue
        if name == "backup":
            assert app_container(resources[("CronJob", "backup")])["args"] == ["backup"]
            continue
        if name == "restore":
            [job] = documents(DEPLOY / "k8s" / "jobs" / "restore.yaml")
            assert app_container(job)["args"] == ["restore"]
            continue
        deployment = resources[("Deployment", name)]
        container = app_container(deployment)
        assert container["args"] == service["command"], name
        environment = env_of(container)
        for key in ("DATABASE_URL", "DATABASE_PASSWORD_FILE", "ATTACHMENT_STORAGE_DIR"):
            assert environment.get(key) == service["environment"].get(key), (name, key)
    # ... and nothing in Kubernetes that compose does not run.
    deployments = {name for kind, name in resources if kind == "Deployment"}
    jobs_and_data = {"migrate", "backup", "restore", "postgres", "redis"}
    monitoring = {"prometheus", "grafana"}  # the cluster's own (deploy/prometheus/kubernetes.yml)
    assert deployments == set(compose) - jobs_and_data - monitoring


def test_exactly_one_beat_replaced_by_recreate(resources):
    beats = [
        r
        for (kind, _), r in resources.items()
        if kind == "Deployment" and "beat" in app_container_args(r)
    ]
    assert len(beats) == 1
    [beat] = beats
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert ("HorizontalPodAutoscaler", "beat") not in resources


def app_container_args(resource: dict) -> list[str]:
    return [arg for c in pod_spec(resource)["containers"] for arg in c.get("args", [])]


def test_web_services_have_probes_services_and_autoscalers(resources):
    for info in SERVICES.values():
        deployment = resources[("Deployment", info.name)]
        container = app_container(deployment)
        assert container["ports"] == [{"name": "http", "containerPort": info.port}]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(info.port)
        service = resources[("Service", info.name)]
        assert service["spec"]["ports"][0]["port"] == info.port
        hpa = resources[("HorizontalPodAutoscaler", info.name)]
        assert hpa["spec"]["scaleTargetRef"]["name"] == info.name
        assert hpa["spec"]["minReplicas"] >= 2
    assert (
        resources[("HorizontalPodAutoscaler", "nginx")]["spec"]["scaleTargetRef"]["name"] == "nginx"
    )


def test_workers_are_probed_by_their_heartbeat(resources, compose):
    for name, service in compose.items():
        if service.get("command", [None])[0] != "worker":
            continue
        container = app_container(resources[("Deployment", name)])
        test = service["healthcheck"]["test"][1:]
        assert container["livenessProbe"]["exec"]["command"] == test, name
        assert container["readinessProbe"]["exec"]["command"] == test, name


def test_every_container_has_requests_and_limits(resources):
    for (kind, name), resource in resources.items():
        if kind not in {"Deployment", "StatefulSet", "Job", "CronJob"}:
            continue
        spec = pod_spec(resource)
        for container in spec["containers"] + spec.get("initContainers", []):
            assert {"requests", "limits"} <= set(container["resources"]), (name, container["name"])
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name


def test_shared_files_are_claimed_where_compose_mounts_them(resources, compose):
    claims = {name for kind, name in resources if kind == "PersistentVolumeClaim"}
    assert claims == {"uploads", "reports", "backups"}
    for (kind, name), resource in resources.items():
        if kind != "Deployment" or name not in compose:
            continue
        used = {
            v["persistentVolumeClaim"]["claimName"]
            for v in pod_spec(resource).get("volumes", [])
            if "persistentVolumeClaim" in v
        }
        in_compose = {v.split(":")[0] for v in compose[name].get("volumes", [])}
        assert used == in_compose, name


def test_nginx_upstreams_resolve_to_services(resources):
    """nginx/upstreams.conf is used unchanged: each upstream host:port is a Service."""
    text = (REPO / "nginx" / "upstreams.conf").read_text()
    for host, port in re.findall(r"(?m)^\s*server\s+([\w.-]+):(\d+)", text):
        service = resources[("Service", host)]
        assert int(port) in [p["port"] for p in service["spec"]["ports"]], host
    nginx = resources[("Deployment", "nginx")]
    [init] = pod_spec(nginx)["initContainers"]
    assert init["image"] == APP_IMAGE and "/app/nginx/" in " ".join(init["args"])
    [container] = pod_spec(nginx)["containers"]
    assert container["args"][:3] == ["nginx", "-c", "/etc/nginx/taskplatform/nginx.conf"]


def test_migration_job_and_data_services(resources, compose):
    job = resources[("Job", "migrate")]
    environment = env_of(app_container(job))
    for info in SERVICES.values():
        key = f"{info.env_prefix}_DATABASE_URL"
        assert environment[key] == compose["migrate"]["environment"][key]
    assert pod_spec(job)["restartPolicy"] == "Never"
    postgres = resources[("StatefulSet", "postgres")]
    assert pod_spec(postgres)["containers"][0]["image"] == compose["postgres"]["image"]
    assert resources[("StatefulSet", "redis")]["spec"]["replicas"] == 1


def test_config_map_names_every_process_compose_does(resources, compose):
    """Each *_SERVICE_URL of the compose settings, the live stream's included, with the
    same Service name and port."""
    config = resources[("ConfigMap", "taskplatform-config")]["data"]
    urls = {k: v for k, v in compose["user"]["environment"].items() if k.endswith("_SERVICE_URL")}
    assert "NOTIFICATION_STREAM_SERVICE_URL" in urls
    assert {k: v for k, v in config.items() if k.endswith("_SERVICE_URL")} == urls


def test_the_stream_has_its_process_and_an_unbuffered_route(resources):
    deployment = resources[("Deployment", "notification-stream")]
    container = app_container(deployment)
    assert container["args"] == ["stream"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "5008"
    assert resources[("Service", "notification-stream")]["spec"]["ports"][0]["port"] == 5008
    assert resources[("HorizontalPodAutoscaler", "notification-stream")]["spec"]["minReplicas"] >= 2
    # The Ingress in front of nginx neither buffers the stream nor cuts it after 60 s.
    ingress = resources[("Ingress", "taskplatform-stream")]
    [rule] = ingress["spec"]["rules"]
    [path] = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/api/stream", "Prefix")
    assert path["backend"]["service"]["name"] == "nginx"
    settings = ingress["metadata"]["annotations"]
    assert settings["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(settings["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    # ... and nginx (the same nginx/ files) sends it to the stream's upstream unbuffered.
    routes = (REPO / "nginx" / "routes.conf").read_text()
    assert re.search(r"~\^/api/stream\(/\|\$\)\s+notification_stream;", routes)
    server = (REPO / "nginx" / "server.conf").read_text()
    sse = re.search(r"location = /api/stream \{(.*?)\}", server, re.S).group(1)
    assert "proxy_buffering off;" in sse and "proxy_read_timeout 1h;" in sse
