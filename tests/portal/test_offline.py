"""Nothing the server sends loads anything from another host (an offline puskesmas server):
the portal pages, the API docs (Swagger UI, ReDoc) and the assets they name."""
from __future__ import annotations

import re

import pytest

from .helpers import sign_in

#: src=, href=, action= attributes and CSS url(...) that name a host ("http://", "https://", "//").
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//""",
                      re.IGNORECASE)
ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/[^"'#?]+)""")


def _assets_of(html: str) -> list[str]:
    return [path for path in ASSET.findall(html) if path.endswith((".js", ".css"))]


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/redoc"])
def test_api_docs_use_vendored_assets(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assets = _assets_of(html)
    assert assets, "the docs page names no script"
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        if asset.endswith(".css"):
            assert not EXTERNAL.search(served.get_data(as_text=True)), asset


def test_portal_pages_name_no_other_host(client, world):
    login = client.get("/portal/login").get_data(as_text=True)
    assert not EXTERNAL.search(login)
    sign_in(client, world.dinkes_gresik)
    for path in ("/portal/month", "/portal/reports", "/portal/reports/immunization-coverage",
                 "/portal/follow-up", "/portal/early-warning", "/portal/quality",
                 f"/portal/children/{world.child_a1.id}"):
        html = client.get(path).get_data(as_text=True)
        match = EXTERNAL.search(html)
        assert match is None, (path, match and match.group(0))
        for asset in _assets_of(html):
            served = client.get(asset)
            assert served.status_code == 200, asset
            assert not EXTERNAL.search(served.get_data(as_text=True)), asset


def test_vendored_licences_are_shipped(client):
    for path in ("/portal/static/vendor/swagger-ui/LICENSE", "/portal/static/vendor/redoc/LICENSE"):
        assert client.get(path).status_code == 200
