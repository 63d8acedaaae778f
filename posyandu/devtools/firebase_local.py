"""Aim one real ``firebase_admin`` App at a local fake of Google (``fake_google.FakeGoogle``).

Dev/test/benchmark only: production code never imports this module.

firebase-admin 7.7.0 has no supported way to change the FCM host (the URL is a class constant,
there is no FCM emulator, and the maintainers declined an override). The Auth emulator variable
``FIREBASE_AUTH_EMULATOR_HOST`` exists, but it switches ``verify_id_token`` to a mode that skips
the kid/alg/signature/expiry checks, which is exactly the code we want to exercise. The only
fully public alternative, an HTTPS proxy that terminates TLS for ``*.googleapis.com``
(``HTTPS_PROXY`` + a CA bundle), is process-wide, needs a CA and a TLS-terminating fake, and is
bypassed by ``send_each_async``. So this module sets a few private attributes **on one App's
services only** (other Apps in the process keep talking to Google) and leaves every code path
(message encoding, the requests session, urllib3 retries, error mapping, google-auth refresh,
the RS256 verification in ``google.oauth2.id_token``, the CacheControl cert session, the
Identity Toolkit client) as the SDK runs it in production.

Private names touched (firebase-admin 7.7.0; re-check on every upgrade, the tests fail loudly
if one disappears):

Messaging (``point_messaging_at``):
  1. ``firebase_admin.messaging._get_messaging_service(app)``: the per-App
     ``_MessagingService`` that ``messaging.send/send_each/send_each_async(app=app)`` use.
     Calling it creates the service early (it is cached on the App).
  2. ``_MessagingService._fcm_url``: the send URL, copied from the class constant
     ``FCM_URL`` (``https://fcm.googleapis.com/v1/projects/{p}/messages:send``) in ``__init__``.
     Also used by ``send_each_async``.
  3. ``_MessagingService._fcm_topic_url``: topic (un)subscription URL, so a stray topic call
     cannot leave the machine (the fake does not implement topics).
  4. ``_MessagingService._client``: the ``_http_client.JsonHttpClient`` whose public
     ``.session`` (a google-auth ``AuthorizedSession``) we give an adapter for the fake's base
     URL. By default we mount the *same* ``HTTPAdapter`` object the SDK mounted for
     ``https://fcm.googleapis.com`` (100 pooled connections, ``DEFAULT_RETRY_CONFIG``), so
     pool size and retries match production; without it a plain-``http://`` URL would get
     the session's 10-connection default adapter. ``retries=`` mounts a new 100-connection
     adapter with the given urllib3 ``Retry`` instead (e.g. no backoff, to keep tests of the
     500/503 paths fast).

Auth (``point_auth_at``):
  5. ``firebase_admin.auth._get_client(app)``: the per-App ``_auth_client.Client`` that
     ``auth.verify_id_token(..., app=app)``, ``auth.get_user`` etc. use (cached on the App).
  6. ``Client._token_verifier`` -> ``.id_token_verifier.cert_url``: where the public
     securetoken x509 certificates are fetched (``_token_gen.ID_TOKEN_CERT_URI``).
  7. ``Client._user_manager`` -> ``.base_url``: Identity Toolkit prefix
     (``https://identitytoolkit.googleapis.com/v1/projects/{p}``) used by ``accounts:lookup``
     (``get_user``, ``check_revoked=True``), ``accounts:update``, ``accounts``, ``accounts:delete``.
  8. ``Client._token_generator`` -> ``.base_url``: same prefix for ``createSessionCookie``
     (not served by the fake; redirected so it cannot reach Google).
  Not redirected: session-cookie certificates (``cookie_verifier.cert_url``), SAML/OIDC
  provider configs, tenant clients, ``create_custom_token``'s IAM signBlob (only used without a
  service-account key).

The OAuth token endpoint needs no private access: give the App a
``credentials.Certificate(fake.service_account_info())`` (its ``token_uri`` is the fake), or a
static ``google.oauth2.credentials.Credentials("test-token")``.
"""
from __future__ import annotations

import os
from typing import Any

import firebase_admin
import requests.adapters
from firebase_admin import auth, messaging

from .fake_google import SECURETOKEN_CERT_PATH

__all__ = ["point_firebase_at", "point_messaging_at", "point_auth_at", "fast_retry"]


def fast_retry() -> Any:
    """The SDK's retry policy (1 connect, 1 read, 4 status retries on 500/503, Retry-After
    honoured) minus the exponential backoff, so a permanently failing 5xx costs 5 quick
    attempts instead of ~7 s. Tests only."""
    from urllib3.util.retry import Retry
    return Retry(connect=1, read=1, status=4, status_forcelist=[500, 503], raise_on_status=False,
                 backoff_factor=0, allowed_methods=None)


def point_messaging_at(app: firebase_admin.App, base_url: str, *, retries: Any = None) -> None:
    """Send this App's FCM traffic (sync and async) to ``{base_url}/v1/projects/{p}/...``."""
    base = base_url.rstrip("/")
    project = app.project_id
    if not project:
        raise ValueError("the App needs a projectId option to build the FCM URL")
    service = messaging._get_messaging_service(app)  # private (1)
    service._fcm_url = f"{base}/v1/projects/{project}/messages:send"  # private (2)
    service._fcm_topic_url = f"{base}/v1/projects/{project}/registrations"  # private (3)
    session = service._client.session  # private (4); .session is public on JsonHttpClient
    if retries is None:
        adapter = session.get_adapter("https://fcm.googleapis.com/")
    else:
        adapter = requests.adapters.HTTPAdapter(pool_connections=100, pool_maxsize=100,
                                                max_retries=retries)
    session.mount(base + "/", adapter)


def point_auth_at(app: firebase_admin.App, base_url: str) -> None:
    """Verify this App's ID tokens against the fake's certs; user lookups go to the fake."""
    if os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        raise RuntimeError(
            "FIREBASE_AUTH_EMULATOR_HOST is set: firebase-admin would skip signature and expiry "
            "checks, so pointing at the fake would not test the real verification path")
    base = base_url.rstrip("/")
    client = auth._get_client(app)  # private (5)
    client._token_verifier.id_token_verifier.cert_url = base + SECURETOKEN_CERT_PATH  # private (6)
    toolkit = f"{base}/v1/projects/{app.project_id}"
    client._user_manager.base_url = toolkit  # private (7)
    client._token_generator.base_url = toolkit  # private (8)


def point_firebase_at(app: firebase_admin.App, base_url: str, *, messaging: bool = True,
                      auth: bool = True, retries: Any = None) -> firebase_admin.App:
    """Point the real SDK code of ``app`` at a local fake (see the module docstring for the
    exact private names touched). Returns ``app``. Call it right after ``initialize_app``;
    calling it again (e.g. with ``retries=fast_retry()``) just re-points."""
    if messaging:
        point_messaging_at(app, base_url, retries=retries)
    if auth:
        point_auth_at(app, base_url)
    return app
