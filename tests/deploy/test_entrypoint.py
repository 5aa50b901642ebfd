"""scripts/docker-entrypoint: the image's roles, the database URL it hands a service,
its bounded wait for PostgreSQL, and the migrate role against real databases."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

from scripts import stack
from scripts.toolkit.processes import Process, free_port
from services.common.config import database_url as sqlalchemy_url
from tests.support.backing import POSTGRES_URL

ENTRYPOINT = stack.REPO / "scripts" / "docker-entrypoint"


def load_entrypoint():
    loader = importlib.machinery.SourceFileLoader("docker_entrypoint", str(ENTRYPOINT))
    spec = importlib.util.spec_from_loader("docker_entrypoint", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture
def entrypoint(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    monkeypatch.delenv("PORT", raising=False)
    return load_entrypoint()


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ENTRYPOINT), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_password_file_completes_the_database_url(entrypoint, monkeypatch, tmp_path):
    secret = tmp_path / "user_db_password"
    secret.write_text("p@ss/word:1\n")
    monkeypatch.setenv("DATABASE_URL", "postgresql://user_service@postgres:5432/user_service_db")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", str(secret))
    assert entrypoint.database_url() == (
        "postgresql://user_service:p%40ss%2Fword%3A1@postgres:5432/user_service_db"
    )
    monkeypatch.setenv("USER_DATABASE_URL", "postgresql://u:given@db/x")
    monkeypatch.setenv("USER_DATABASE_PASSWORD_FILE", str(secret))
    assert entrypoint.database_url("USER_") == "postgresql://u:given@db/x"


def test_roles_become_the_platforms_commands(entrypoint):
    web = entrypoint.command_for(["web", "user"])
    assert web[1:] == [
        "-m",
        "gunicorn",
        "-c",
        "python:services.common.gunicorn_conf",
        "services.user:create_app()",
    ]
    assert os.environ["PORT"] == "5001"
    del os.environ["PORT"]
    stream = entrypoint.command_for(["stream"])
    assert stream[-3:] == ["-c", stack.GEVENT_SETTINGS, "services.notification.stream:create_app()"]
    assert os.environ["PORT"] == "5008"
    worker = entrypoint.command_for(["worker", "notification"])
    assert worker[worker.index("-A") + 1] == "services.notification.worker"
    assert worker[worker.index("-Q") + 1] == "notification"
    beat = entrypoint.command_for(["beat"])
    assert beat[beat.index("-A") + 1] == "services.common.beat" and "beat" in beat
    assert entrypoint.command_for(["health"])[-1] == "services.gateway.health:create_app()"
    assert entrypoint.command_for(["flask", "--version"]) == ["flask", "--version"]


def test_unknown_service_fails_fast():
    result = run("web", "nosuch", env={"SERVICE_TOKEN": "x"})
    assert result.returncode == 1
    assert "unknown service 'nosuch'" in result.stderr


def test_database_wait_is_bounded():
    started = time.monotonic()
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    result = run("flask", "--version", env={"DATABASE_URL": url, "DB_WAIT_SECONDS": "1"})
    assert result.returncode == 1
    assert "not reachable" in result.stderr
    assert time.monotonic() - started < 15


def test_a_name_that_does_not_resolve_yet_is_waited_for_within_the_bound():
    """What podman's DNS answers before it knows the database's container: waited for
    like a refused connection, then a clear failure once DB_WAIT_SECONDS ran out."""
    started = time.monotonic()
    url = "postgresql://user_service@postgres.invalid:5432/user_service_db"
    result = run("flask", "--version", env={"DATABASE_URL": url, "DB_WAIT_SECONDS": "3"})
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert 'could not translate host name "postgres.invalid"' in result.stderr
    assert "waiting for postgres.invalid:5432/user_service_db" in result.stderr
    assert "not reachable after 3s" in result.stderr
    assert 3 <= elapsed < 20


def test_the_wait_ends_when_the_database_arrives(backing):
    """PostgreSQL reachable only after a few seconds (a port that opens late, forwarded
    to the real server): the role starts then, without failing."""
    if not backing.postgres:
        pytest.skip("needs PostgreSQL")
    server = urlsplit(POSTGRES_URL)
    port = free_port()
    opened = threading.Event()

    def forward_later() -> None:
        time.sleep(3)
        with socket.create_server(("127.0.0.1", port)) as listener:
            opened.set()
            listener.settimeout(30)
            for _ in range(4):  # the wait's connection, then the role's own
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    return
                upstream = socket.create_connection((server.hostname, server.port or 5432))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=forward_later, daemon=True).start()
    url = urlunsplit(server._replace(netloc=f"{server.username or 'postgres'}@127.0.0.1:{port}"))
    started = time.monotonic()
    result = run(
        "python", "-c", "print('started')", env={"DATABASE_URL": url, "DB_WAIT_SECONDS": "30"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
    assert opened.is_set() and time.monotonic() - started >= 3
    assert "waiting for 127.0.0.1" in result.stderr and "Connection refused" in result.stderr


def pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        target.close()


def test_a_mistake_no_wait_mends_fails_at_once(backing):
    if not backing.postgres:
        pytest.skip("needs PostgreSQL")
    url = urlunsplit(urlsplit(POSTGRES_URL)._replace(path="/no_such_database_here"))
    started = time.monotonic()
    result = run("flask", "--version", env={"DATABASE_URL": url, "DB_WAIT_SECONDS": "60"})
    assert result.returncode == 1
    assert "refused the connection" in result.stderr and "does not exist" in result.stderr
    assert time.monotonic() - started < 15


@pytest.mark.parametrize(
    "error,waits",
    [
        (
            'could not translate host name "postgres" to address: Temporary failure in name resolution',
            True,
        ),
        ('could not translate host name "postgres" to address: Name or service not known', True),
        (
            'connection to server at "postgres" (10.89.0.2), port 5432 failed: Connection refused',
            True,
        ),
        ("FATAL: the database system is starting up", True),
        ("timeout expired", True),
        ("FATAL: sorry, too many clients already", True),
        ('FATAL: password authentication failed for user "user_service"', False),
        ('FATAL: database "user_service_db" does not exist', False),
    ],
)
def test_which_errors_mean_not_ready_yet(entrypoint, error, waits):
    assert entrypoint.not_ready_yet(error) is waits


def test_other_commands_run_as_given():
    result = run(
        sys.executable,
        "-c",
        "import os; print(os.environ['DATABASE_URL'])",
        env={"DATABASE_URL": "sqlite:///x.db"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sqlite:///x.db"


def test_migrate_upgrades_every_service_in_the_image(backing):
    env = {"DB_WAIT_SECONDS": "5"}
    urls = {}
    for service in stack.built_services():
        urls[service.name] = backing.database_url(service.package + "_mig")
        env[f"{service.env_prefix}_DATABASE_URL"] = urls[service.name]
    result = run("migrate", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    for name, url in urls.items():
        engine = create_engine(sqlalchemy_url(url))
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar(), name
        engine.dispose()


def test_migrate_requires_each_services_database_url():
    result = run("migrate", env={"USER_DATABASE_URL": ""})
    assert result.returncode == 1
    assert "USER_DATABASE_URL is required" in result.stderr


STRONG = {
    "SERVICE_TOKEN": "Zq3hV9xT2mLr8KpW4sYc7NbF1dGj6HuA0eXoQiRlPvM",
    "JWT_SECRET_KEY": "Qm7tY2vB9nK4xR1cW8pL3sZ6hJ0fD5gT-aE_uNoViXk",
}


@pytest.mark.parametrize(
    "weak",
    [
        {"JWT_SECRET_KEY": "CHANGE_ME"},
        {"SERVICE_TOKEN": "short-but-random-9f8e7d"},
    ],
)
def test_a_production_service_refuses_to_start_with_a_weak_secret(tmp_path, weak):
    env = {
        "APP_ENV": "production",
        **STRONG,
        **weak,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'user.db'}",
        "PORT": str(free_port()),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    result = run("web", "user", env=env)
    (name,) = weak
    assert result.returncode != 0
    assert f"{name} is too weak for APP_ENV=production" in result.stderr


def test_a_production_service_starts_with_strong_secrets(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        **STRONG,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'user.db'}",
        "PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    process = Process(
        "user", [sys.executable, str(ENTRYPOINT), "web", "user"], env, tmp_path / "log", port
    )
    process.start(wait_path="/health")
    process.stop()


def test_gunicorn_opens_no_control_socket(tmp_path):
    """The image's user cannot write its home (/app): gunicorn's default control socket
    ($HOME/.gunicorn) failed there with 'Control server error: Permission denied' in
    every web container. The platform's settings turn the control socket off."""
    home = tmp_path / "home"
    home.mkdir(mode=0o555)
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "HOME": str(home), "PORT": str(free_port()), "BIND_HOST": "127.0.0.1"}
    env.pop("XDG_RUNTIME_DIR", None)
    command = [sys.executable, "-m", "gunicorn", "-c", "python:services.common.gunicorn_conf"]
    command += ["--log-level", "info", "services.gateway.health:create_app()"]
    with log.open("w") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=output, cwd=stack.REPO)
        try:
            deadline = time.monotonic() + 30
            while "Booting worker" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)  # the control server starts beside the workers
        finally:
            server.terminate()
            server.wait(20)
    text = log.read_text()
    assert "Booting worker" in text
    assert "Control server" not in text and "gunicorn.ctl" not in text
    assert not (home / ".gunicorn").exists()
