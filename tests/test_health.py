"""The health check load balancers and systemd use."""
from resolver.extensions import db


def test_healthz_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "storage": "ok"}


def test_healthz_fails_when_the_database_is_gone(app, client, tmp_path):
    # Point the app at a database file inside a folder that does not exist: connecting fails.
    db.engine.dispose()
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    from sqlalchemy import create_engine

    broken = create_engine(f"sqlite:///{tmp_path}/missing/folder/resolver.db")
    original = db.engines[None] if hasattr(db, "engines") else None
    app.extensions["sqlalchemy"]._app_engines[app][None] = broken
    try:
        response = client.get("/healthz")
    finally:
        app.extensions["sqlalchemy"]._app_engines[app][None] = original
    assert response.status_code == 503
    assert response.get_json()["status"] == "unhealthy"
