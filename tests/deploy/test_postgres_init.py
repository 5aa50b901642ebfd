"""deploy/postgres/init.sh, run the way the postgres image runs it on an empty data
directory, against a throwaway PostgreSQL cluster: one role and one database per
service, each role reaching its own database and no other."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest

from scripts import stack
from tests.support.backing import free_port

INIT = stack.REPO / "deploy" / "postgres" / "init.sh"
PACKAGES = [info.package for info in stack.SERVICES.values()]


def as_postgres(*command: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def cluster():
    """A fresh cluster on a free port, owned by the postgres user (initdb refuses root)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if os.geteuid() != 0 or not bins or shutil.which("runuser") is None:
        pytest.skip("needs root, runuser and a PostgreSQL server installation")
    bin_dir = Path(bins[-1])
    # Not under pytest's tmp_path: the postgres user cannot enter root's private tmp.
    tmp_path = Path(tempfile.mkdtemp(prefix="taskapp-pginit-"))
    data, sockets = tmp_path / "data", tmp_path / "sockets"
    sockets.mkdir()
    for path in (tmp_path, sockets):
        shutil.chown(path, "postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres"]
    as_postgres(*initdb, "--auth-local=trust", "--auth-host=scram-sha-256")
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
    log = str(tmp_path / "postgres.log")
    as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield {"port": port, "sockets": sockets, "tmp": tmp_path}
    finally:
        as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_one_database_and_one_role_per_service(cluster):
    secrets = cluster["tmp"] / "secrets"
    secrets.mkdir()
    for package in PACKAGES:
        (secrets / f"{package}_db_password").write_text(f"pw-{package}'\"$x\n")
    shutil.chown(secrets, "postgres")
    env = {
        "SECRETS_DIR": str(secrets),
        "PGHOST": str(cluster["sockets"]),
        "PGPORT": str(cluster["port"]),
        "POSTGRES_USER": "postgres",
    }
    as_postgres("sh", str(INIT), env=env)
    port = cluster["port"]
    for package in PACKAGES:
        role, database = f"{package}_service", stack.DATABASE_NAMES[package.replace("_", "-")]
        password = f"pw-{package}'\"$x"
        with (
            psycopg2.connect(
                host="127.0.0.1", port=port, user=role, password=password, dbname=database
            ) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT current_user, current_database()")
            assert cursor.fetchone() == (role, database)
        other = "user_service_db" if package != "user" else "reporting_service_db"
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            psycopg2.connect(
                host="127.0.0.1", port=port, user=role, password=password, dbname=other
            )
