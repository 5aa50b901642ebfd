"""Gunicorn settings for the processes that hold long-lived connections: the live
stream (``services.notification.stream``) and the fallback gateway that passes streams
on. Given as a file (``gunicorn -c services/common/gunicorn_gevent_conf.py``), not a
module, so that nothing of the platform is imported before gevent patches the standard
library.

The platform's settings (:mod:`services.common.gunicorn_conf`) with gevent workers: an
open stream is a greenlet waiting on its socket, not a thread, so a worker holds
thousands of them. ``STREAM_WORKER_CONNECTIONS`` bounds the connections per worker.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

from services.common.gunicorn_conf import *  # noqa: E402, F403

worker_class = "gevent"
worker_connections = int(os.environ.get("STREAM_WORKER_CONNECTIONS", "4000"))
# Streams live for hours; a worker being restarted gives them this long to end.
graceful_timeout = 5
