"""Gunicorn settings for every service (``gunicorn -c python:services.common.gunicorn_conf``).

gthread workers keep nginx's upstream keepalive connections open cheaply; the keepalive
here outlasts nginx's so gunicorn never closes a connection nginx is about to reuse.
Forwarding headers (the scheme) count only from ``TRUSTED_PROXIES``, as in the app
(services/common/proxies.py); no peer may set ``SCRIPT_NAME`` or ``PATH_INFO`` by header.
"""

import os

from services.common.config import DEFAULT_TRUSTED_PROXIES, env

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = 75
timeout = 30
graceful_timeout = 20
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
forwarded_allow_ips = env("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
forwarder_headers = ""
# nginx bounds the request line (large_client_header_buffers, 8 KiB) and answers 414 as
# problem+json; gunicorn's own, shorter limit would answer an HTML 414 behind it.
limit_request_line = 0
# No control socket: nothing here uses gunicornc, and its default path ($HOME/.gunicorn)
# is not writable by the image's user and is shared by every gunicorn on a host.
control_socket_disable = True


def child_exit(server, worker):
    """Drop a dead worker's Prometheus files so /metrics stays right."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
