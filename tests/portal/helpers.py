"""Signing in through the portal's own form, as a browser does (cookies kept by the client)."""
from __future__ import annotations

import re

from tests.factories import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client, path: str = "/portal/login") -> str:
    page = client.get(path)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, user, password: str = PASSWORD, *, follow: bool = False):
    token = form_token(client)
    return client.post("/portal/login", data={"login": user.username, "password": password,
                                              "csrf_token": token}, follow_redirects=follow)


def page_token(client, path: str = "/portal/month") -> str:
    return form_token(client, path)
