"""What operators watch: every metric the Grafana dashboard (deploy/grafana/) charts is
in the ``/metrics`` the running services really export, with the queue depth, outbox
backlog and worker heartbeats read from the platform's own database and Redis; and the
Prometheus scrape configurations (deploy/prometheus/) reach every service on its port."""

from __future__ import annotations

import importlib

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from scripts import dashboard, stack
from scripts.toolkit.waiting import wait_for

PROMETHEUS = stack.REPO / "deploy" / "prometheus"


def scrape(url: str) -> dict[str, list]:
    """Sample name -> samples of one /metrics page."""
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def test_promql_names_are_found():
    expr = (
        'histogram_quantile(0.95, sum by (service, le) (rate(x_bucket{service=~"$service"}'
        "[$__rate_interval]))) / sum without (a) (y_total) and on (b) z"
    )
    assert dashboard.metric_names(expr) == {"x_bucket", "y_total", "z"}
    assert "[1m]" in dashboard.runnable(expr) and '=~".*"' in dashboard.runnable(expr)


def test_every_dashboard_metric_is_exported(platform, api):
    api.account()  # a request through every layer, and an event in the user outbox
    services = [s for s in stack.built_services()]
    scraped: dict[str, dict[str, list]] = {}
    for service in services:
        scraped[service.name] = scrape(platform.service_url(service.name))
    exported = {name for samples in scraped.values() for name in samples}
    expressions = dashboard.expressions()
    assert len(expressions) >= 10
    for title, expr in expressions:
        names = dashboard.metric_names(expr)
        assert names, (title, expr)
        assert names <= exported, f"panel {title!r} charts {names - exported}, not exported"


def test_backlog_queue_and_heartbeats_come_from_the_running_platform(platform, api):
    workers = {s.name: s.queue for s in stack.built_workers()}

    def all_workers_beat() -> dict | None:
        found = {}
        for service, queue in workers.items():
            samples = scrape(platform.service_url(service))
            alive = [s for s in samples["celery_workers_alive"] if s.labels["queue"] == queue]
            if not alive or alive[0].value < 1:
                return None
            found[service] = samples
        return found

    found = wait_for(all_workers_beat, timeout=30)
    for service, queue in workers.items():
        samples = found[service]
        assert [s.labels for s in samples["celery_queue_length"]] == [{"queue": queue}]
        ages = samples["celery_worker_heartbeat_age_seconds"]
        assert ages and all(s.labels["queue"] == queue and s.value < 15 for s in ages)
    for service in stack.built_services():
        samples = scrape(platform.service_url(service.name))
        models = importlib.import_module(f"services.{service.package}.models")
        if not hasattr(models, "OutboxEvent"):  # a pure consumer writes no events
            assert "outbox_backlog" not in samples, service.name
            continue
        [backlog] = samples["outbox_backlog"]
        assert backlog.labels == {"service": service.name}
        assert backlog.value >= 0
        # Services without a worker have no queue of their own to report.
        assert ("celery_queue_length" in samples) == (service.name in workers)


@pytest.mark.parametrize("variant,prefix", [("compose", ""), ("swarm", "tasks.")])
def test_scrape_configs_reach_every_service_on_its_port(variant, prefix):
    config = yaml.safe_load((PROMETHEUS / f"{variant}.yml").read_text())
    jobs = {job["job_name"]: job["dns_sd_configs"] for job in config["scrape_configs"]}
    # Every process serving /metrics: the seven services and the live stream.
    processes = {**stack.SERVICES, stack.STREAM.name: stack.STREAM}
    assert set(jobs) == set(processes)
    for name, info in processes.items():
        [sd] = jobs[name]
        assert sd["names"] == [prefix + name]
        assert sd["port"] == info.port


def test_kubernetes_scrape_config_keeps_annotated_pods():
    config = yaml.safe_load((PROMETHEUS / "kubernetes.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["taskplatform"]
    keep = job["relabel_configs"][0]
    assert keep["action"] == "keep"
    assert keep["source_labels"] == ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"]


def test_dashboard_is_provisioned_with_the_stacks_prometheus():
    import json

    provisioning = stack.REPO / "deploy" / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    [source] = datasource["datasources"]
    assert source["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards" / "taskplatform.yml").read_text())
    compose = yaml.safe_load((stack.REPO / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    targets = {c["source"]: c["target"] for c in grafana["configs"]}
    assert targets["grafana_dashboard_taskplatform"].startswith(
        provider["providers"][0]["options"]["path"] + "/"
    )
    board = json.loads(dashboard.DASHBOARD.read_text())
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"] and panel["description"], panel["title"]
    titles = " ".join(p["title"] for p in board["panels"]).lower()
    for wanted in ("request rate", "errors", "latency", "queue", "outbox", "heartbeat"):
        assert wanted in titles
