"""Deployment settings: every environment variable the code reads is documented in
docs/deployment.md; production refuses per-process rate-limit counters; ProxyFix is applied only
when configured and then (only then) X-Forwarded-For moves the per-address sign-in limit."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from posyandu import create_app
from posyandu.config import ConfigError, wrap_for_proxy
from posyandu.extensions import limiter
from posyandu.reminders.dispatcher import DispatchSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
#: Functions whose first (string) argument names an environment variable.
_ENV_READERS = {"getenv", "_env_bool", "_env_int"}


def _is_environ(node: ast.AST) -> bool:
    """``os.environ``, ``environ`` or a local alias named ``env``/``environ``."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or \
        (isinstance(node, ast.Name) and node.id in {"environ", "env"})


#: Files allowed to read a variable whose name is computed (the test lists those names itself).
DYNAMIC_READS_ALLOWED = {"posyandu/config.py",  # _env_bool/_env_int(name)
                         "posyandu/reminders/dispatcher.py"}  # REMINDER_<field>


def environment_reads_in_python(source: str, dynamic: list | None = None) -> set[str]:
    """Constant names read from the environment; reads by a computed name go to ``dynamic``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        key = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in {"get", "setdefault", "pop"} \
                    and _is_environ(func.value):
                key = node.args[0]
            elif isinstance(func, (ast.Name, ast.Attribute)) and \
                    getattr(func, "id", getattr(func, "attr", None)) in _ENV_READERS:
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = node.slice
        if key is None:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
        elif dynamic is not None:
            dynamic.append(node.lineno)
    return names


def environment_reads() -> dict[str, str]:
    """Every environment variable the shipped code reads -> the first file that reads it."""
    found: dict[str, str] = {}
    files = sorted((ROOT / "posyandu").rglob("*.py")) + [ROOT / "wsgi.py"] + \
        sorted((ROOT / "deploy").rglob("*.py"))
    for path in files:
        relative, dynamic = str(path.relative_to(ROOT)), []
        for name in environment_reads_in_python(path.read_text(encoding="utf-8"), dynamic):
            found.setdefault(name, relative)
        assert not dynamic or relative in DYNAMIC_READS_ALLOWED, \
            f"{relative} lines {dynamic}: environment read by a computed name; spell it out"
    for path in sorted((ROOT / "deploy").rglob("*.sh")):
        for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    # config-computed names: DispatchSettings.from_config reads REMINDER_<FIELD> (f-string).
    for field in DispatchSettings.__dataclass_fields__:
        found.setdefault(f"REMINDER_{field.upper()}", "posyandu/reminders/dispatcher.py")
    # settings read by the pieces we configure rather than by our code
    found.setdefault("PROMETHEUS_MULTIPROC_DIR", "prometheus_client (deploy/gunicorn.conf.py)")
    found.setdefault("FLASK_APP", "flask CLI")
    return found


def documented_variables() -> set[str]:
    """Names in the first column of the environment table(s) of docs/deployment.md."""
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", text, flags=re.MULTILINE))


def test_the_scanner_finds_reads_written_in_each_style():
    source = '''
import os
a = os.environ.get("ALPHA")
b = os.environ["BRAVO"]
c = os.getenv("CHARLIE", "x")
d = _env_bool("DELTA", False)
e = _env_int("ECHO", 1)
def f(env): return env.get("FOXTROT")
os.environ.setdefault("GOLF", "1")
ignored = config.get("NOT_ENV")
computed = os.environ.get(name)
'''
    dynamic = []
    assert environment_reads_in_python(source, dynamic) == {"ALPHA", "BRAVO", "CHARLIE", "DELTA",
                                                             "ECHO", "FOXTROT", "GOLF"}
    assert dynamic == [11]


def test_every_environment_variable_is_in_the_deployment_table():
    reads = environment_reads()
    # the four the issue found missing from the README, and the new ones
    for name in ("LOG_JSON", "DATABASE_POOL_PRE_PING", "FCM_DRY_RUN", "JWT_ACCESS_MINUTES",
                 "PROXY_FIX_X_FOR", "METRICS_TOKEN", "RATELIMIT_STORAGE_URI", "BACKUP_DIR"):
        assert name in reads, name
    missing = {name: where for name, where in reads.items() if name not in documented_variables()}
    assert not missing, f"add these to the table in docs/deployment.md: {missing}"


def _production_env(monkeypatch, **extra):
    monkeypatch.setenv("POSYANDU_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/none")
    for key in ("JWT_SECRET_KEY", "SECRET_KEY", "NIK_ENCRYPTION_KEY"):
        monkeypatch.setenv(key, "x" * 40)
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("FCM_ENDPOINT_URL", raising=False)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def restore_limiter(app):
    """create_app() re-initialises the limiter singleton: give the session app its storage back."""
    yield
    limiter.init_app(app)


def test_production_refuses_per_process_rate_limit_counters(monkeypatch, restore_limiter):
    _production_env(monkeypatch)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI is memory://"):
        create_app()
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        create_app()
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    create_app()  # Redis is fine (nothing connects at start-up)


def test_production_refuses_a_short_metrics_token(monkeypatch, restore_limiter):
    _production_env(monkeypatch, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", METRICS_TOKEN="short")
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        create_app()


def test_a_malformed_number_stops_the_start_with_its_name(monkeypatch, restore_limiter):
    monkeypatch.setenv("PROXY_FIX_X_FOR", "one")
    with pytest.raises(ConfigError, match="PROXY_FIX_X_FOR"):
        create_app()


def test_proxy_fix_is_off_by_default_and_set_from_the_environment(monkeypatch, restore_limiter):
    monkeypatch.delenv("PROXY_FIX_X_FOR", raising=False)
    assert not isinstance(create_app().wsgi_app, ProxyFix)
    monkeypatch.setenv("PROXY_FIX_X_FOR", "2")
    monkeypatch.setenv("PROXY_FIX_X_PROTO", "1")
    wrapped = create_app().wsgi_app
    assert isinstance(wrapped, ProxyFix)
    assert (wrapped.x_for, wrapped.x_proto, wrapped.x_host, wrapped.x_port, wrapped.x_prefix) == (2, 1, 0, 0, 0)


# ------------------------------------------------------------------ ProxyFix and the login limit
ADDRESS_LIMIT = 20  # failed sign-ins per address per 15 minutes (docs/accounts.md)


@pytest.fixture
def behind_proxy(app):
    """The session app as create_app builds it with PROXY_FIX_X_FOR=1 (restored afterwards)."""
    original = app.wsgi_app
    app.wsgi_app = wrap_for_proxy(original, {"PROXY_FIX_X_FOR": 1})
    yield
    app.wsgi_app = original


@pytest.fixture
def fresh_limits(app):
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


def _fail_from(client, forwarded_for: str, name: str):
    return client.post("/api/v1/auth/login", json={"login": name, "password": "wrong-password"},
                       headers={"X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": "127.0.0.1"})  # every request via nginx


def test_behind_the_proxy_each_client_address_has_its_own_login_limit(client, fresh_limits, behind_proxy):
    for i in range(ADDRESS_LIMIT):  # distinct names: only the address limit counts them all
        assert _fail_from(client, "203.0.113.7", f"nobody.{i}").status_code == 401
    assert _fail_from(client, "203.0.113.7", "nobody.x").status_code == 429
    # another phone behind the same proxy is not blocked
    assert _fail_from(client, "203.0.113.8", "nobody.y").status_code == 401
    # a client-supplied X-Forwarded-For in front of nginx's value is not trusted (rightmost hop)
    assert _fail_from(client, "198.51.100.1, 203.0.113.7", "nobody.z").status_code == 429


def test_without_the_setting_x_forwarded_for_is_ignored(client, fresh_limits):
    for i in range(ADDRESS_LIMIT):
        assert _fail_from(client, f"203.0.113.{i + 1}", f"nobody.{i}").status_code == 401
    # all came from the proxy's address: a forged header does not escape the limit
    assert _fail_from(client, "203.0.113.200", "nobody.x").status_code == 429
