"""deploy/postgres/init.sh, run the way the postgres image runs it on an empty data
directory, against a throwaway PostgreSQL cluster: one role and one database per
service, each role reaching its own database and no other."""

from __future__ import annotations

import shutil

import psycopg2
import pytest

from scripts import stack
from tests.support import postgres_cluster
from tests.support.postgres_cluster import as_postgres

INIT = stack.REPO / "deploy" / "postgres" / "init.sh"
PACKAGES = [info.package for info in stack.SERVICES.values()]


@pytest.fixture
def cluster():
    """A fresh cluster on a free port, owned by the postgres user (initdb refuses root)."""
    if reason := postgres_cluster.available():
        pytest.skip(reason)
    with postgres_cluster.private_cluster(host_auth="scram-sha-256") as private:
        yield {"port": private.port, "sockets": private.sockets, "tmp": private.tmp}


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
