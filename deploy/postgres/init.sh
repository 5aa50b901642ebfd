#!/bin/sh
# PostgreSQL first-start script (mounted into /docker-entrypoint-initdb.d by
# docker-compose.yml): one role and one database per service, each role owning only its
# own database, with its password from that service's secret file. It runs once, when
# the data volume is empty; safe to be sourced or executed by the image's entrypoint.
set -e

for taskapp_service in user project_task comment attachment notification activity_log reporting; do
    taskapp_password="$(cat "${SECRETS_DIR:-/run/secrets}/${taskapp_service}_db_password")"
    psql --variable=ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        --set=role="${taskapp_service}_service" \
        --set=db="${taskapp_service}_service_db" \
        --set=password="$taskapp_password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
unset taskapp_service taskapp_password
