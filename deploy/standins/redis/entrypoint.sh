#!/bin/sh
# redis-server as the official image starts it: listening on every interface, protected
# mode off (the official image's build does the same).
set -e
if [ "$1" = "redis-server" ]; then
    shift
    exec redis-server --bind 0.0.0.0 --protected-mode no "$@"
fi
exec "$@"
