"""An HTTP client for end-to-end tests that talks to the gateway like a real client.

Each client binds its own loopback source address (127.x.y.z), so nginx and the
services see a distinct client IP and per-IP rate limits of one test do not leak
into another. Also the team and notification helpers the e2e and resilience tests share.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

_names = itertools.count(1)
PASSWORD = "correct horse battery"


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source: str, **kwargs):
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def random_loopback() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


@dataclass
class Account:
    id: int
    username: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class ApiClient:
    def __init__(self, base_url: str, source: str | None = None):
        self.base_url = base_url
        self.source = source or random_loopback()
        self.session = requests.Session()
        self.session.mount("http://", _SourceAddressAdapter(self.source))

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs
    ) -> requests.Response:
        headers = kwargs.pop("headers", {}) or {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def register(self, username: str | None = None, password: str = PASSWORD) -> dict:
        username = username or f"e2e{next(_names)}{random.randint(1000, 9999)}"
        response = self.post(
            "/api/register",
            json={"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def login(self, username: str, password: str = PASSWORD) -> Account:
        response = self.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        body = response.json()
        user = body["user"]
        return Account(
            user["id"],
            user["username"],
            user["email"],
            password,
            body["access_token"],
            body["refresh_token"],
        )

    def account(self) -> Account:
        """A new user, signed in."""
        return self.login(self.register()["username"])


def team(api: ApiClient) -> tuple[Account, Account, dict]:
    """A new project with its owner and one member."""
    owner, member = api.account(), api.account()
    project = api.post("/api/projects", token=owner.access_token, json={"name": "Docs"}).json()
    added = api.post(
        f"/api/projects/{project['id']}/members",
        token=owner.access_token,
        json={"user_id": member.id, "role": "member"},
    )
    assert added.status_code == 201, added.text
    return owner, member, project


def notifications(api: ApiClient, account: Account, kind: str) -> list[dict]:
    """The in-app notifications of ``account`` of one type."""
    items = api.get("/api/notifications", token=account.access_token).json()["items"]
    return [n for n in items if n["type"] == kind]
