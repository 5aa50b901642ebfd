"""A full disk is a clean answer, never a 500: a file store that is full raises
``StorageFull``, answered 507 ``insufficient_storage``; a SQLite database on a full disk
(the embedded mode's ``var/``) is the database's 503, with the write undone."""

from __future__ import annotations

import errno

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

from services.common import init_service
from services.common.config import BaseConfig
from services.common.db import make_base
from services.common.errors import StorageFull, is_disk_full
from tests.support.volumes import fill, small_volume

PROBLEM = "application/problem+json"


class _Config(BaseConfig):
    SERVICE_NAME = "sample"


def test_a_full_file_store_is_507_problem_json(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    app = Flask(__name__)
    app.config.from_object(_Config())
    init_service(app)

    @app.post("/files")
    def store():
        raise StorageFull("No room is left to store the file; try again later.") from OSError(
            errno.ENOSPC, "No space left on device"
        )

    response = app.test_client().post("/files")
    assert response.status_code == 507 and response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == "insufficient_storage"
    assert body["detail"] == "No room is left to store the file; try again later."


def test_only_a_write_refused_for_lack_of_space_counts_as_a_full_disk():
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("no"))


def test_a_sqlite_database_on_a_full_disk_answers_503_and_keeps_nothing(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("VAR_DIR", str(var))
    db = SQLAlchemy(model_class=make_base())

    class Note(db.Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        text: Mapped[str] = mapped_column(sa.Text)

    app = Flask(__name__)
    app.config.from_object(_Config())
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{var / 'sample.db'}"
    init_service(app)
    db.init_app(app)

    @app.post("/notes")
    def add_note():
        db.session.add(Note(text="x" * 200_000))
        db.session.commit()
        return {}, 201

    with small_volume(var, 512):
        with app.app_context():
            db.create_all()
        filler = fill(var)
        response = app.test_client().post("/notes")

        assert response.status_code == 503 and response.mimetype == PROBLEM
        assert response.get_json()["code"] == "service_unavailable"
        filler.unlink()
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0
        assert app.test_client().post("/notes").status_code == 201
        with app.app_context():
            db.engine.dispose()
