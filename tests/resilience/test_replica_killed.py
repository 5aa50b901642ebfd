"""R4 (docs/testing.md): two replicas of one service behind nginx, one killed with SIGKILL under
read load: nginx retries what the dead one lost (``proxy_next_upstream``) and fewer than
0.1% of the requests fail. A POST that may have reached a dead replica is never sent
again to another (nginx retries only idempotent requests).
"""

from __future__ import annotations

import os
import signal
import socketserver
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from scripts import stack
from scripts.toolkit.nginx import nginx_command, render_nginx
from scripts.toolkit.processes import Process, free_port
from services.common.registry import SERVICES
from services.gateway.routes import upstream_ports
from tests.support.api import ApiClient


def test_one_of_two_replicas_killed_under_read_load(platform, tmp_path):
    """R4 (docs/testing.md): the survivor takes over; nginx retries the requests the dead one lost."""
    user = SERVICES["user"]
    env = {**platform.service_env(user), "RATELIMIT_USER": "1000000/minute"}
    replicas = []
    for index in range(2):
        port = free_port()
        command = stack.gunicorn_command(user, port)
        replicas.append(Process(f"user-{index}", command, env, tmp_path / f"u{index}.log", port))
    for replica in replicas:
        replica.start()
    port = free_port()
    addresses = {name: f"127.0.0.1:{free_port()}" for name in upstream_ports()}
    addresses["user"] = [f"127.0.0.1:{replica.port}" for replica in replicas]
    conf = render_nginx(tmp_path / "nginx", f"127.0.0.1:{port}", addresses)
    nginx = Process("nginx-r4", nginx_command(conf), {}, tmp_path / "nginx.log", port)
    nginx.start(wait_path=None)
    try:
        client = ApiClient(f"http://127.0.0.1:{port}")
        token = client.account().access_token
        total, threads = 3000, 16
        done = []
        killed = threading.Event()

        def read(_: int) -> int:
            session = _session()
            if len(done) > total // 3 and not killed.is_set():
                killed.set()
                os.killpg(replicas[0].popen.pid, signal.SIGKILL)
            try:
                response = session.get(
                    f"http://127.0.0.1:{port}/api/users/me",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                status = response.status_code
            except requests.RequestException:
                status = 0
            done.append(status)
            return status

        with ThreadPoolExecutor(threads) as pool:
            statuses = list(pool.map(read, range(total)))
        assert killed.is_set()
        failed = [s for s in statuses if s != 200]
        assert len(failed) / total < 0.001, f"{len(failed)} of {total} failed: {set(failed)}"
        assert replicas[0].popen.poll() is not None
    finally:
        nginx.stop()
        for replica in replicas:
            replica.stop()


_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


class _Upstream(socketserver.ThreadingTCPServer):
    """A fake replica counting requests by method; ``drop`` closes without answering."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, drop: bool) -> None:
        self.drop = drop
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _UpstreamHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _UpstreamHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            length = 0
            while (header := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":", 1)[1])
            self.rfile.read(length)
            self.server.seen.append(line.split()[0].decode())
            if self.server.drop:
                return
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            self.wfile.flush()


def test_nginx_retries_reads_but_never_resends_a_post(tmp_path):
    dropper, answerer = _Upstream(drop=True), _Upstream(drop=False)
    port = free_port()
    addresses = {name: f"127.0.0.1:{free_port()}" for name in upstream_ports()}
    addresses["user"] = [f"127.0.0.1:{s.server_address[1]}" for s in (dropper, answerer)]
    conf = render_nginx(tmp_path / "nginx", f"127.0.0.1:{port}", addresses)
    nginx = Process("nginx-retry", nginx_command(conf), {}, tmp_path / "nginx.log", port)
    nginx.start(wait_path=None)
    base = f"http://127.0.0.1:{port}/api/users/me"
    try:
        gets = [requests.get(base, timeout=10).status_code for _ in range(10)]
        posts = [requests.post(base, data=b"{}", timeout=10).status_code for _ in range(10)]
    finally:
        nginx.stop()
        dropper.shutdown()
        answerer.shutdown()
    assert gets == [200] * 10
    assert dropper.seen.count("GET") >= 1  # some reads hit the dead replica and were retried
    dropped_posts = dropper.seen.count("POST")
    assert dropped_posts >= 1
    assert dropped_posts + answerer.seen.count("POST") == 10  # each POST sent exactly once
    assert posts.count(503) == dropped_posts and posts.count(200) == 10 - dropped_posts
