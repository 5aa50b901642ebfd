"""What an outsider can compare between two answers, and which internal calls a request
made: for the tests that a hidden thing answers exactly like a missing one
(:func:`answers_alike`)."""

from __future__ import annotations

from typing import Any

# Headers that differ between any two requests (the request's id, the rate-limit window).
PER_REQUEST_HEADERS = {"X-Request-ID", "X-RateLimit-Remaining", "X-RateLimit-Reset"}


def observable(response: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A test-client response as a client can compare it with another: the status, the
    problem body without its ``request_id``, and the headers that do not change per
    request."""
    body = {key: value for key, value in (response.json or {}).items() if key != "request_id"}
    headers = {
        name: value for name, value in response.headers.items() if name not in PER_REQUEST_HEADERS
    }
    return response.status_code, body, headers


def record_calls(monkeypatch: Any, path: str) -> list[str]:
    """Record every URL this process calls (through the pooled internal-call session)
    whose path contains ``path``, with its query."""
    from services.common.http import http_session

    session = http_session()
    original = session.request
    calls: list[str] = []

    def recording(method, url, *args, **kwargs):
        if path in url:
            params = kwargs.get("params") or {}
            calls.append(url + "?" + "&".join(f"{k}={v}" for k, v in params.items()))
        return original(method, url, *args, **kwargs)

    monkeypatch.setattr(session, "request", recording)
    return calls


def answers_alike(
    client: Any,
    calls: list[str],
    urls: tuple[str, str],
    attempts: list[tuple[str, str, dict[str, Any]]],
    headers: dict[str, str],
) -> tuple[int, dict[str, Any], dict[str, str], int]:
    """Send each attempt ``(method, path suffix, {"json"?, "headers"?})`` to both
    ``urls`` and assert the two answers are alike: :func:`observable`, plus how many
    internal calls (``calls`` from :func:`record_calls`) each made. Returns the last."""
    answer: tuple[int, dict[str, Any], dict[str, str], int] | None = None
    for method, suffix, extra in attempts:
        answers = []
        for url in urls:
            before = len(calls)
            response = client.open(
                url + suffix,
                method=method,
                json=extra.get("json"),
                headers={**headers, **extra.get("headers", {})},
            )
            answers.append((*observable(response), len(calls) - before))
        assert answers[0] == answers[1], (method, suffix)
        answer = answers[0]
    assert answer is not None
    return answer
