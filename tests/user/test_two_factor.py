"""Two-factor: enrolment with the password, confirmation by a code, the otp_required step
of login (a code, or a recovery code once), replays and wrong codes refused, attempts
counted by the lockout, disabling with the password and a code, and admins made to enrol
when REQUIRE_2FA_FOR_ADMINS is on."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select, update

from services.user.models import OutboxEvent, RecoveryCode, User

PASSWORD = "correct horse battery"


class Authenticator:
    """The user's authenticator app: a code of a step not used yet, never one that could
    fall out of the server's window if a step boundary passes (it waits instead)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last: int | None = None

    def code(self) -> str:
        while True:
            now = int(time.time()) // 30
            step = now if self.last is None else max(self.last + 1, now)
            if step <= now + 1:
                self.last = step
                return self.totp.generate_otp(step)
            time.sleep(0.5)


def enrol(client, account) -> tuple[Authenticator, list[str]]:
    started = client.post(
        "/api/users/me/2fa", json={"current_password": account.password}, headers=account.headers
    )
    assert started.status_code == 201, started.json
    app = Authenticator(started.json["secret"])
    confirmed = client.post(
        "/api/users/me/2fa/confirm", json={"code": app.code()}, headers=account.headers
    )
    assert confirmed.status_code == 200, confirmed.json
    return app, confirmed.json["recovery_codes"]


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/login", json={"username": username, "password": password})


def second_step(client, otp_token: str, code: str):
    return client.post("/api/login/otp", json={"otp_token": otp_token, "code": code})


def test_enrolment_answers_the_secret_uri_and_qr_and_confirmation_the_recovery_codes(
    client, auth, database
):
    account = auth.account()
    refused = client.post(
        "/api/users/me/2fa", json={"current_password": "a guess"}, headers=account.headers
    )
    assert refused.status_code == 422 and "current_password" in refused.json["errors"]
    started = client.post(
        "/api/users/me/2fa", json={"current_password": account.password}, headers=account.headers
    )
    assert started.status_code == 201
    body = started.json
    assert (
        body["otpauth_uri"].startswith("otpauth://totp/") and body["secret"] in body["otpauth_uri"]
    )
    assert (
        body["qr_svg"].startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in body["qr_svg"]
    )
    status = client.get("/api/users/me/2fa", headers=account.headers).json
    assert status["pending"] is True and status["enabled"] is False
    # Not on until a code confirms it: login still needs the password only.
    assert login(client, account.username).status_code == 200
    app = Authenticator(body["secret"])
    wrong = client.post(
        "/api/users/me/2fa/confirm", json={"code": "000000"}, headers=account.headers
    )
    assert wrong.status_code == 422 and "code" in wrong.json["errors"]
    confirmed = client.post(
        "/api/users/me/2fa/confirm", json={"code": app.code()}, headers=account.headers
    )
    assert confirmed.status_code == 200
    codes = confirmed.json["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    status = client.get("/api/users/me/2fa", headers=account.headers).json
    assert status["enabled"] is True and status["recovery_codes_left"] == 10
    with database() as session:
        stored = {row.code_hash for row in session.scalars(select(RecoveryCode))}
        types = [e.type for e in session.scalars(select(OutboxEvent))]
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes}
    assert "user.two_factor_enabled" in types
    again = client.post(
        "/api/users/me/2fa", json={"current_password": account.password}, headers=account.headers
    )
    assert again.status_code == 409


def test_login_needs_the_code_and_a_code_works_once(client, auth):
    account = auth.account()
    app, _ = enrol(client, account)
    asked = login(client, account.username)
    assert asked.status_code == 401 and asked.json["code"] == "otp_required"
    assert "access_token" not in asked.json and asked.json["otp_token"]
    wrong = second_step(client, asked.json["otp_token"], "123456")
    assert wrong.status_code == 401 and wrong.json["code"] == "invalid_credentials"
    code = app.code()
    done = second_step(client, asked.json["otp_token"], code)
    assert done.status_code == 200 and done.json["access_token"]
    assert (
        client.get(
            "/api/users/me", headers={"Authorization": f"Bearer {done.json['access_token']}"}
        ).status_code
        == 200
    )
    # The challenge is spent, and the code cannot be replayed in a new login either.
    assert second_step(client, asked.json["otp_token"], code).status_code == 401
    replay = second_step(client, login(client, account.username).json["otp_token"], code)
    assert replay.status_code == 401


def test_a_recovery_code_works_once(client, auth, database):
    account = auth.account()
    _, codes = enrol(client, account)
    first = second_step(client, login(client, account.username).json["otp_token"], codes[0])
    assert first.status_code == 200
    again = second_step(client, login(client, account.username).json["otp_token"], codes[0])
    assert again.status_code == 401
    spaced = codes[1].upper().replace("-", " ")
    assert (
        second_step(client, login(client, account.username).json["otp_token"], spaced).status_code
        == 200
    )
    assert client.get("/api/users/me/2fa", headers=account.headers).json["recovery_codes_left"] == 8


def test_a_wrong_password_looks_the_same_and_never_opens(client, auth):
    account = auth.account()
    app, codes = enrol(client, account)
    guessed = login(client, account.username, "not the password")
    assert guessed.status_code == 401 and guessed.json["code"] == "otp_required"
    right = login(client, account.username)
    assert set(guessed.json) == set(right.json)
    refused = second_step(client, guessed.json["otp_token"], app.code())
    assert refused.status_code == 401 and refused.json["code"] == "invalid_credentials"
    refused = second_step(client, guessed.json["otp_token"], codes[0])
    assert refused.status_code == 401
    assert second_step(client, "made-up", "123456").status_code == 401


def test_wrong_codes_lock_the_account_like_wrong_passwords(app, client, auth):
    account = auth.account()
    enrol(client, account)
    token = login(client, account.username).json["otp_token"]
    limit = app.config["LOGIN_MAX_FAILURES"]
    statuses = [second_step(client, token, "000000").status_code for _ in range(limit)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}
    locked = login(client, account.username)
    assert locked.status_code == 429 and locked.json["code"] == "account_locked"


def test_disabling_needs_the_password_and_a_code(client, auth, database):
    account = auth.account()
    app, codes = enrol(client, account)
    for body in (
        {"current_password": account.password, "code": "000000"},
        {"current_password": "a guess", "code": codes[0]},
        {"code": codes[0]},
    ):
        refused = client.post("/api/users/me/2fa/disable", json=body, headers=account.headers)
        assert refused.status_code == 422, body
    assert client.get("/api/users/me/2fa", headers=account.headers).json["enabled"] is True
    done = client.post(
        "/api/users/me/2fa/disable",
        json={"current_password": account.password, "code": app.code()},
        headers=account.headers,
    )
    assert done.status_code == 204
    assert login(client, account.username).status_code == 200
    with database() as session:
        assert session.scalar(select(RecoveryCode)) is None
        assert session.get(User, account.id).totp_secret is None


def test_a_replayed_code_is_refused_at_confirmation(client, auth, database):
    account = auth.account()
    started = client.post(
        "/api/users/me/2fa", json={"current_password": account.password}, headers=account.headers
    )
    totp = pyotp.TOTP(started.json["secret"])
    code = totp.now()
    with database() as session:  # that step was used already
        session.execute(update(User).values(totp_last_step=int(time.time()) // 30 + 1))
        session.commit()
    refused = client.post("/api/users/me/2fa/confirm", json={"code": code}, headers=account.headers)
    assert refused.status_code == 422
    assert client.get("/api/users/me/2fa", headers=account.headers).json["enabled"] is False


@pytest.fixture
def admins_need_two_factor(app):
    app.config["REQUIRE_2FA_FOR_ADMINS"] = True
    yield
    app.config["REQUIRE_2FA_FOR_ADMINS"] = False


def test_an_admin_without_two_factor_can_only_enrol(client, auth, admins_need_two_factor):
    admin = auth.admin()
    session = auth.login(admin.username)
    for method, path in (("GET", "/api/users/me"), ("GET", "/api/admin/users")):
        refused = client.open(path, method=method, headers=session.headers)
        assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"
    status = client.get("/api/users/me/2fa", headers=session.headers).json
    assert status["required"] is True and status["enabled"] is False
    _, codes = enrol(client, session)
    assert client.get("/api/admin/users", headers=session.headers).status_code == 200
    refused = client.post(
        "/api/users/me/2fa/disable",
        json={"current_password": PASSWORD, "code": codes[0]},
        headers=session.headers,
    )
    assert refused.status_code == 409
