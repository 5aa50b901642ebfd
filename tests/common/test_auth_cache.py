"""The auth client's caches, against a real user service over HTTP: a made-up token
costs one verify call however often it is sent, and no number of made-up tokens can push
a real session out of the cache (sessions and rejections are bounded separately)."""

from __future__ import annotations

import os
import secrets

import pytest
from prometheus_client import REGISTRY

from scripts.toolkit.waiting import wait_for
from services.common.auth import InvalidToken, RemoteTokenVerifier


def verify_calls(outcome: str) -> float:
    return REGISTRY.get_sample_value("auth_verify_calls_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def verifier(user_service, backing) -> RemoteTokenVerifier:
    """Bounds far below production's, so a test can fill them."""
    verifier = RemoteTokenVerifier(
        f"{user_service.url}/internal/auth/verify",
        os.environ["SERVICE_TOKEN"],
        backing.redis_url,
        max_sessions=20,
        max_rejections=10,
    )
    # Revocations other tests announce (for their users, whose ids repeat across their
    # databases) are not what these tests are about.
    verifier.feed.on_revoke = lambda user_id: None
    verifier.feed.ensure_started()
    assert wait_for(lambda: verifier.feed.healthy, timeout=10)
    return verifier


def test_made_up_tokens_never_push_a_session_out(user_service, verifier):
    account = user_service.account()
    assert verifier.verify(account.access_token).id == account.id
    assert verifier.recognises(account.access_token)
    vouched = verify_calls("ok")
    for _ in range(60):  # six times what the rejections may hold
        with pytest.raises(InvalidToken):
            verifier.verify(secrets.token_urlsafe(24))
    assert verifier.verify(account.access_token).id == account.id
    assert verify_calls("ok") == vouched  # answered from the cache: no verify call
    assert verifier.recognises(account.access_token)


def test_a_made_up_token_costs_one_verify_call_and_is_never_recognised(verifier):
    token = secrets.token_urlsafe(24)
    rejected = verify_calls("rejected")
    for _ in range(5):
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert verify_calls("rejected") == rejected + 1
    assert not verifier.recognises(token)
