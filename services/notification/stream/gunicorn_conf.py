"""Gunicorn settings of the stream process
(``gunicorn -c python:services.notification.stream.gunicorn_conf``).

The platform's settings (:mod:`services.common.gunicorn_conf`) with gevent workers: an
open stream is a greenlet waiting on its socket, not a thread, so a worker holds
thousands of them. ``STREAM_WORKER_CONNECTIONS`` bounds the connections per worker.
"""

import os

from services.common.gunicorn_conf import *  # noqa: F403

worker_class = "gevent"
worker_connections = int(os.environ.get("STREAM_WORKER_CONNECTIONS", "4000"))
# Streams live for hours; a worker being restarted gives them this long to end.
graceful_timeout = 5
