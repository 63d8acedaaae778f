"""``flask users create|set-password|disable|enable`` through app.test_cli_runner()."""
from __future__ import annotations

from posyandu.auth.models import User
from posyandu.auth.passwords import verify_password
from posyandu.extensions import db

PASSWORD = "Sandi-Kader-Baru-77"


def _user(**filters):
    db.session.expire_all()
    return db.session.query(User).filter_by(**filters).one_or_none()


def test_create_kader_with_several_posyandu(runner, world):
    result = runner.invoke(args=["users", "create", "--phone", "0812-5555-0001", "--name", "Bu Rina",
                                 "--role", "kader", "--posyandu", "PY-A1", "--posyandu", "PY-A2",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    user = _user(phone="+6281255550001")
    assert user is not None and user.role == "kader" and user.username is None
    assert sorted(user.posyandu_ids) == sorted([world.posyandu_a1.id, world.posyandu_a2.id])
    assert verify_password(user.password_hash, PASSWORD)
    assert PASSWORD not in result.output


def test_create_with_prompted_password(runner, world, client):
    result = runner.invoke(args=["users", "create", "--username", "Bidan.Sari", "--name", "Bidan Sari",
                                 "--role", "puskesmas", "--puskesmas", "P3525020101"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    user = _user(username="bidan.sari")
    assert user.puskesmas_id == world.puskesmas_b.id
    response = client.post("/api/v1/auth/login", json={"login": "bidan.sari", "password": PASSWORD})
    assert response.status_code == 200


def test_create_dinkes_and_admin(runner, world):
    assert runner.invoke(args=["users", "create", "--username", "dinkes.baru", "--name", "D", "--role", "dinkes",
                               "--kabupaten", "3524", "--password", PASSWORD]).exit_code == 0
    assert _user(username="dinkes.baru").kabupaten_code == "3524"
    assert runner.invoke(args=["users", "create", "--username", "root2", "--name", "R", "--role", "admin",
                               "--password", PASSWORD]).exit_code == 0


def test_create_validation_names_the_option_and_creates_nothing(runner, world):
    count = db.session.query(User).count()
    cases = [
        (["--username", "kader.x", "--name", "X", "--role", "kader", "--password", PASSWORD], "--posyandu"),
        (["--username", "kader.x", "--name", "X", "--role", "kader", "--posyandu", "PY-ZZ", "--password", PASSWORD],
         "--posyandu"),
        (["--username", "kader.x", "--name", "X", "--role", "kader", "--posyandu", "PY-A1", "--password", "short"],
         "--password"),
        (["--phone", "123", "--name", "X", "--role", "kader", "--posyandu", "PY-A1", "--password", PASSWORD],
         "--phone"),
        (["--name", "X", "--role", "kader", "--posyandu", "PY-A1", "--password", PASSWORD], "--username"),
        (["--username", "kader.melati", "--name", "X", "--role", "kader", "--posyandu", "PY-A1",
          "--password", PASSWORD], "--username"),
        (["--username", "dinkes.x", "--name", "X", "--role", "dinkes", "--kabupaten", "9999",
          "--password", PASSWORD], "--kabupaten"),
    ]
    for args, option in cases:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code == 1, (args, result.output)
        assert option in result.output, (args, result.output)
    db.session.expire_all()
    assert db.session.query(User).count() == count


def test_unknown_role_is_refused(runner, world):
    result = runner.invoke(args=["users", "create", "--username", "p1", "--name", "P", "--role", "parent",
                                 "--password", PASSWORD])
    assert result.exit_code == 2  # click's usage error


def test_set_password_disable_enable(runner, world, client):
    assert runner.invoke(args=["users", "set-password", "081200000001", "--password", PASSWORD]).exit_code == 0
    login = {"login": "kader.melati", "password": PASSWORD}
    assert client.post("/api/v1/auth/login", json=login).status_code == 200
    assert runner.invoke(args=["users", "disable", "kader.melati"]).exit_code == 0
    assert client.post("/api/v1/auth/login", json=login).status_code == 401
    assert runner.invoke(args=["users", "enable", "kader.melati"]).exit_code == 0
    assert client.post("/api/v1/auth/login", json=login).status_code == 200
    assert runner.invoke(args=["users", "disable", "nobody.at.all"]).exit_code == 1
