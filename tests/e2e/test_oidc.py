"""Sign-in with an OpenID Connect provider, through nginx, against a real provider process
(``oidc_provider`` in tests/support/fixtures.py): the platform offers it as ``mock``.

The test client plays the browser: it opens the login URL, signs in at the provider as a
subject whose claims the test chose, and follows the provider back to the callback with
the cookie the login set. Refusals (a forged state or nonce, another browser, an error
from the provider, a missing code, an unverified e-mail) are problem+json and leave no
account, link or session behind.
"""

from __future__ import annotations

import random
import time
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pyotp

from tests.support.api import ApiClient

PROBLEM = "application/problem+json"


def new_sub() -> str:
    return f"person-{random.randint(10**8, 10**9)}"


def start(browser: ApiClient) -> str:
    """Open the platform's login URL: the provider's authorization URL."""
    response = browser.get("/api/auth/oidc/mock/login", allow_redirects=False)
    assert response.status_code == 302, response.text
    assert "oidc_browser" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    return response.headers["Location"]


def back_at(browser: ApiClient, callback_url: str):
    """Follow the provider back to the platform (the callback, through nginx)."""
    parsed = urlparse(callback_url)
    assert parsed.netloc == urlparse(browser.base_url).netloc, callback_url
    return browser.get(f"{parsed.path}?{parsed.query}", allow_redirects=False)


def sign_in(browser: ApiClient, oidc_provider, sub: str):
    return back_at(browser, oidc_provider.authorize(start(browser), sub))


def with_query(url: str, **changes: str) -> str:
    parsed = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    query.update(changes)
    return urlunparse(parsed._replace(query=urlencode(query)))


def accounts_with(api: ApiClient, admin, email: str) -> list[dict]:
    found = api.get("/api/admin/users", token=admin.access_token, params={"q": email}).json()
    return [user for user in found["items"] if user["email"] == email]


def test_the_providers_are_listed(api):
    listed = api.get("/api/auth/oidc/providers")
    assert listed.status_code == 200
    assert listed.json()["items"] == [{"name": "mock", "login_url": "/api/auth/oidc/mock/login"}]
    assert api.get("/api/auth/oidc/nobody/login").status_code == 404


def test_a_new_person_gets_an_account_and_comes_back_to_it(platform, api, oidc_provider):
    sub, email = new_sub(), f"{new_sub()}@example.com"
    oidc_provider.person(sub, email=email, email_verified=True, preferred_username="ada")
    browser = ApiClient(platform.url)
    authorization_url = start(browser)
    asked = parse_qs(urlparse(authorization_url).query)
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43
    assert asked["state"][0] and asked["nonce"][0] and asked["scope"] == ["openid email profile"]
    assert asked["redirect_uri"] == [f"{platform.url}/api/auth/oidc/mock/callback"]
    answer = back_at(browser, oidc_provider.authorize(authorization_url, sub))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["user"]["email"] == email
    assert body["user"]["username"].startswith("ada")
    assert answer.headers["Cache-Control"] == "no-store"
    me = api.get("/api/users/me", token=body["access_token"])
    assert me.status_code == 200 and me.json()["email"] == email
    sessions = api.get("/api/users/me/sessions", token=body["access_token"]).json()["items"]
    assert [s["signed_in_with"] for s in sessions] == ["oidc:mock"]
    again = sign_in(ApiClient(platform.url), oidc_provider, sub)
    assert again.status_code == 200 and again.json()["user"]["id"] == body["user"]["id"]


def test_an_existing_account_is_linked_by_verified_email(platform, api, oidc_provider, admin):
    account = api.account()
    sub = new_sub()
    oidc_provider.person(sub, email=account.email.upper(), email_verified=True)
    answer = sign_in(ApiClient(platform.url), oidc_provider, sub)
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["id"] == account.id
    assert len(accounts_with(api, admin, account.email)) == 1
    assert api.login(account.username).id == account.id  # the password still works


def test_an_unverified_email_links_and_makes_nothing(platform, api, oidc_provider, admin):
    account = api.account()
    for email, verified in ((account.email, False), (f"{new_sub()}@example.com", "no")):
        sub = new_sub()
        oidc_provider.person(sub, email=email, email_verified=verified)
        refused = sign_in(ApiClient(platform.url), oidc_provider, sub)
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"] == PROBLEM
        assert refused.json()["code"] == "email_not_verified"
        assert len(accounts_with(api, admin, email)) == (1 if email == account.email else 0)
    sessions = api.get("/api/users/me/sessions", token=account.access_token).json()
    assert sessions["total"] == 1  # no session was opened for the account


def test_a_forged_state_another_browser_and_a_used_state_are_refused(platform, oidc_provider):
    sub = new_sub()
    email = f"{sub}@example.com"
    oidc_provider.person(sub, email=email, email_verified=True)
    browser = ApiClient(platform.url)
    callback = oidc_provider.authorize(start(browser), sub)
    for attempt in (
        lambda: back_at(browser, with_query(callback, state="forged-state")),
        lambda: back_at(ApiClient(platform.url), callback),  # no cookie: another browser
    ):
        refused = attempt()
        assert refused.status_code == 400, refused.text
        assert refused.headers["Content-Type"] == PROBLEM
        assert refused.json()["code"] == "invalid_state"
    assert back_at(browser, callback).status_code == 200  # the real one still works, once
    replayed = back_at(browser, callback)
    assert replayed.status_code == 400 and replayed.json()["code"] == "invalid_state"


def test_a_forged_nonce_is_refused_and_writes_nothing(platform, api, oidc_provider, admin):
    sub = new_sub()
    email = f"{sub}@example.com"
    oidc_provider.person(sub, email=email, email_verified=True)
    browser = ApiClient(platform.url)
    # The provider is asked for another nonce than the one the platform keeps.
    tampered = with_query(start(browser), nonce="a-nonce-the-platform-never-made")
    refused = back_at(browser, oidc_provider.authorize(tampered, sub))
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "invalid_id_token"
    assert accounts_with(api, admin, email) == []


def test_an_error_callback_and_a_missing_code_are_clear_and_change_nothing(
    platform, api, oidc_provider, admin
):
    sub = new_sub()
    email = f"{sub}@example.com"
    oidc_provider.person(sub, email=email, email_verified=True)
    browser = ApiClient(platform.url)
    authorization_url = start(browser)
    state = parse_qs(urlparse(authorization_url).query)["state"][0]
    denied = browser.get(
        "/api/auth/oidc/mock/callback",
        params={"error": "access_denied", "error_description": "The user said no", "state": state},
    )
    assert denied.status_code == 400 and denied.headers["Content-Type"] == PROBLEM
    assert denied.json()["code"] == "provider_error" and "access_denied" in denied.json()["detail"]
    missing = browser.get("/api/auth/oidc/mock/callback", params={"state": state})
    assert missing.status_code == 422 and missing.json()["errors"] == {"code": ["Required."]}
    assert accounts_with(api, admin, email) == []
    # Neither used the sign-in up: the provider's real answer still completes it.
    assert back_at(browser, oidc_provider.authorize(authorization_url, sub)).status_code == 200


def test_an_account_with_two_factor_still_needs_its_code(platform, api, oidc_provider):
    account = api.account()
    started = api.post(
        "/api/users/me/2fa", token=account.access_token, json={"current_password": account.password}
    ).json()
    totp = pyotp.TOTP(started["secret"])
    step = int(time.time()) // 30
    confirmed = api.post(
        "/api/users/me/2fa/confirm",
        token=account.access_token,
        json={"code": totp.generate_otp(step)},
    )
    assert confirmed.status_code == 200
    sub = new_sub()
    oidc_provider.person(sub, email=account.email, email_verified=True)
    asked = sign_in(ApiClient(platform.url), oidc_provider, sub)
    assert asked.status_code == 401 and asked.json()["code"] == "otp_required"
    assert "access_token" not in asked.json()
    done = api.post(
        "/api/login/otp",
        json={"otp_token": asked.json()["otp_token"], "code": totp.generate_otp(step + 1)},
    )
    assert done.status_code == 200, done.text
    assert done.json()["user"]["id"] == account.id
