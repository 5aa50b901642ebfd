"""DNS rebinding: a delivery connects to the address the guard checked, never to a second
DNS answer, while the receiver still sees the host name (``Host``, and over https the TLS
server name and the certificate checked against it).

The receivers are real servers on 127.0.0.1. A scripted resolver stands in for DNS (one
answer per lookup of ``hooks.example.test``; every other name goes to the real one), and
where a test needs the receiver reachable with the guard on, it treats 127.0.0.1 as a
public address: every other private address stays forbidden."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading

import pytest
import requests
import urllib3.util.connection
from sqlalchemy import select
from werkzeug.serving import make_server

from services.notification.models import WebhookDelivery
from services.notification.webhooks import guard, transport
from services.notification.webhooks.guard import RefusedTarget, check_target
from tests.notification.test_webhooks import (
    assigned_event,
    create_webhook,
    private_targets_refused,
)
from tests.support.servers import Received, WebhookReceiver

NAME = "hooks.example.test"
RECEIVER_ADDRESS = ipaddress.ip_address("127.0.0.1")


class ScriptedResolver:
    """``socket.getaddrinfo`` for ``NAME``: each lookup takes the next answer of
    ``answers`` (the last one repeats; ``None`` is a failed lookup); other names go to
    the real resolver."""

    def __init__(self, real) -> None:
        self.real = real
        self.answers: list[list[str]] = []
        self.lookups = 0

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host != NAME:
            return self.real(host, port, family, type, proto, flags)
        self.lookups += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is None:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))
            for address in answer
        ]


@pytest.fixture
def dns(monkeypatch) -> ScriptedResolver:
    resolver = ScriptedResolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


@pytest.fixture
def receiver_counts_as_public(monkeypatch) -> None:
    """The guard lets 127.0.0.1 through (the receivers listen there), nothing else."""
    forbidden = guard.is_forbidden
    monkeypatch.setattr(
        guard, "is_forbidden", lambda address: address != RECEIVER_ADDRESS and forbidden(address)
    )


def named(url: str) -> str:
    """``url`` with the receiver's address replaced by ``NAME``."""
    return url.replace(str(RECEIVER_ADDRESS), NAME, 1)


def assert_signed(received: Received, secret: str) -> None:
    headers = {key.lower(): value for key, value in received.headers.items()}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{received.body}"
    digest = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def deliver_one_event(client, app, jobs, project_task, people, url, dns) -> dict:
    """Save a webhook for ``url`` (``NAME`` answering 127.0.0.1), let an event make one
    delivery, then rebind ``NAME`` to 127.0.0.2 and run the delivery job."""
    dns.answers = [["127.0.0.1"]]
    with private_targets_refused(app):
        hook = create_webhook(client, people.alice, url)
        project_task.members[1] = [{"user_id": people.alice.id, "role": "member"}]
        jobs.consume(assigned_event(people.bob, people.carol))
        dns.answers = [["127.0.0.1"], ["127.0.0.2"]]
        assert jobs.deliver_webhooks() == 1
    return hook


def test_a_rebound_name_is_not_looked_up_again(app, dns, monkeypatch):
    """The guard's answer is public, the next one private: the connection goes to the first."""
    connected_to = []

    def refuse(address, *args, **kwargs):
        connected_to.append(address)
        raise ConnectionRefusedError(111, "Connection refused (by the test)")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    dns.answers = [["93.184.215.14"], ["10.0.0.7"]]

    with app.app_context(), private_targets_refused(app):
        target = check_target(f"https://{NAME}/hook")
        with pytest.raises(requests.ConnectionError):
            transport.post(target, b"{}", {}, timeout=1)

    assert target.addresses == ("93.184.215.14",)
    assert connected_to == [("93.184.215.14", 443)]
    assert dns.lookups == 1


def test_one_private_address_in_the_answer_refuses_the_url(app, dns):
    dns.answers = [["93.184.215.14", "10.0.0.7"]]

    with app.app_context(), private_targets_refused(app), pytest.raises(RefusedTarget):
        check_target(f"http://{NAME}/hook")


def test_the_next_checked_address_is_tried_when_one_refuses_connections(
    app, dns, receiver, monkeypatch
):
    monkeypatch.setattr(
        guard, "is_forbidden", lambda address: str(address) not in ("127.0.0.1", "127.0.0.2")
    )
    dns.answers = [["127.0.0.2", "127.0.0.1"]]  # nothing listens on 127.0.0.2

    with app.app_context(), private_targets_refused(app):
        target = check_target(named(receiver.url) + "/in")
        response = transport.post(target, b"{}", {"Content-Type": "application/json"}, 5)

    assert response.status_code == 200
    [received] = receiver.requests
    assert received.headers["Host"] == named(receiver.url).removeprefix("http://")


def test_a_delivery_reaches_the_checked_address_under_its_host_name(
    client, app, jobs, receiver, project_task, database, people, dns, receiver_counts_as_public
):
    hook = deliver_one_event(
        client, app, jobs, project_task, people, named(receiver.url) + "/in", dns
    )

    [received] = receiver.requests
    assert received.path == "/in"
    assert received.headers["Host"] == named(receiver.url).removeprefix("http://")
    assert_signed(received, hook["secret"])
    assert dns.lookups == 2  # one when the webhook was saved, one for the delivery
    with database() as session:
        assert session.scalar(select(WebhookDelivery.status)) == "delivered"


@pytest.mark.parametrize(
    "later", ["100.64.0.1", "198.18.0.9", "::ffff:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2002:a00:1::1"]
)
def test_a_name_moved_to_a_non_global_address_after_saving_gets_no_delivery(
    client,
    app,
    jobs,
    receiver,
    project_task,
    database,
    people,
    dns,
    receiver_counts_as_public,
    monkeypatch,
    later,
):
    """Saved while the name answered the (public) receiver; by the delivery it answers an
    address no webhook may reach: the delivery is refused without a connection."""
    connected_to = []
    real_connect = urllib3.util.connection.create_connection

    def recording(address, *args, **kwargs):
        connected_to.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", recording)
    dns.answers = [["127.0.0.1"]]
    with private_targets_refused(app):
        hook = create_webhook(client, people.alice, named(receiver.url) + "/in")
        project_task.members[1] = [{"user_id": people.alice.id, "role": "member"}]
        jobs.consume(assigned_event(people.bob, people.carol))
        dns.answers = [[later]]
        assert jobs.deliver_webhooks() == 1

    receiver_port = int(receiver.url.rsplit(":", 1)[1])
    assert receiver.requests == []
    assert [address for address in connected_to if address[1] == receiver_port] == []
    with database() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert delivery.status == "failed" and delivery.last_error.startswith("Refused")
    assert dns.lookups == 2
    current = client.get(f"/api/webhooks/{hook['id']}", headers=people.alice.headers).json
    assert current["failure_count"] == 1


def test_a_name_that_stops_resolving_is_retried_not_counted_as_refused(
    client, app, jobs, receiver, project_task, database, people, dns, receiver_counts_as_public
):
    """DNS down at delivery time: the attempt is retried (the job runs eagerly here, so
    the retry follows at once) rather than failed for good against the webhook."""
    dns.answers = [["127.0.0.1"]]
    with private_targets_refused(app):
        hook = create_webhook(client, people.alice, named(receiver.url) + "/in")
        project_task.members[1] = [{"user_id": people.alice.id, "role": "member"}]
        jobs.consume(assigned_event(people.bob, people.carol))
        dns.answers = [None, ["127.0.0.1"]]
        assert jobs.deliver_webhooks() == 1

    [received] = receiver.requests
    assert_signed(received, hook["secret"])
    with database() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert (delivery.status, delivery.attempts) == ("delivered", 2)
        assert delivery.webhook.failure_count == 0


# https: a certificate for NAME made by openssl for this run; the receiver keeps the
# server names (SNI) that clients send.


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """A self-signed (certificate, key) pair per host name, files made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("the https tests make their certificates with the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    pairs = {}
    for name in (NAME, "other.example.test"):
        cert, key = folder / f"{name}.crt", folder / f"{name}.key"
        command = (
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
            f" -subj /CN={name} -addext subjectAltName=DNS:{name}"
        )
        subprocess.run(
            [*command.split(), "-keyout", key, "-out", cert], check=True, capture_output=True
        )
        pairs[name] = (str(cert), str(key))
    return pairs


@pytest.fixture(scope="module")
def tls_receivers(certificates):
    """A webhook receiver over https per certificate, with the server names it was asked for."""
    receivers = {}
    for name, (cert, key) in certificates.items():
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        receiver = WebhookReceiver()
        receiver.server_names = []
        context.sni_callback = lambda _socket, sent, _context, seen=receiver.server_names: (
            seen.append(sent)
        )
        server = make_server(str(RECEIVER_ADDRESS), 0, receiver, threaded=True, ssl_context=context)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        receiver.url = f"https://{NAME}:{server.server_port}"
        receiver._server = server
        receivers[name] = receiver
    yield receivers
    for receiver in receivers.values():
        receiver.close()


@pytest.fixture
def tls_receiver(tls_receivers, certificates, monkeypatch):
    """The receiver holding a certificate for ``NAME``, trusted by requests for this test."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificates[NAME][0])
    receiver = tls_receivers[NAME]
    yield receiver
    receiver.reset()
    receiver.server_names.clear()


def test_over_https_the_name_is_sent_and_the_certificate_checked_against_it(
    client, app, jobs, tls_receiver, project_task, database, people, dns, receiver_counts_as_public
):
    hook = deliver_one_event(client, app, jobs, project_task, people, tls_receiver.url, dns)

    [received] = tls_receiver.requests
    assert tls_receiver.server_names == [NAME]
    assert received.headers["Host"] == tls_receiver.url.removeprefix("https://")
    assert_signed(received, hook["secret"])
    with database() as session:
        assert session.scalar(select(WebhookDelivery.status)) == "delivered"


def test_a_certificate_for_another_name_is_refused(
    app, dns, tls_receivers, certificates, receiver_counts_as_public, monkeypatch
):
    impostor = tls_receivers["other.example.test"]
    # Trusted, but issued to another name than the URL's: only the name check refuses it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificates["other.example.test"][0])
    dns.answers = [["127.0.0.1"]]

    with app.app_context(), private_targets_refused(app):
        target = check_target(impostor.url)
        with pytest.raises(requests.exceptions.SSLError, match=NAME):
            transport.post(target, b"{}", {}, timeout=5)

    assert impostor.requests == []
    assert impostor.server_names == [NAME]
