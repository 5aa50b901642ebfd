#!/bin/sh
# The official postgres image's entrypoint, as far as docker-compose.yml uses it: on an
# empty PGDATA, initdb with POSTGRES_USER and the password in POSTGRES_PASSWORD_FILE,
# run /docker-entrypoint-initdb.d/*.sh and *.sql against a socket-only server, then
# serve on every interface with password (scram-sha-256) authentication.
set -eu
: "${POSTGRES_USER:=postgres}"
export POSTGRES_USER

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /run/postgresql
    chown -R postgres:postgres "$PGDATA" /run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" != "postgres" ]; then
    exec "$@"
fi
shift

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="${POSTGRES_PASSWORD_FILE:?}" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start >/dev/null
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh)
                echo "docker-entrypoint: running $script"
                if [ -x "$script" ]; then "$script"; else . "$script"; fi
                ;;
            *.sql)
                echo "docker-entrypoint: running $script"
                psql --variable=ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$script"
                ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop >/dev/null
    echo "docker-entrypoint: database initialised"
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
