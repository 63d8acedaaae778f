"""Parents sign in with Firebase phone-number authentication.

The app sends the Firebase ID token once; we verify it with the real
``firebase_admin.auth.verify_id_token(token, app=..., check_revoked=True)`` (RS256 signature
against Google's securetoken certificates, ``aud``/``iss`` = our project, expiry, then an
Identity Toolkit lookup for revocation and disabled users) and keep only the verified
``phone_number`` and ``uid``.

One ``firebase_admin.App`` per Flask app, created lazily from config:
``FIREBASE_PROJECT_ID`` and ``FIREBASE_CREDENTIALS`` (path to a service-account JSON; without
it Application Default Credentials are used, which ``check_revoked`` needs to call Google).

The seam: ``firebase_app()`` returns that App; ``use_firebase_app(flask_app, fb_app)`` installs
another one (tests and dev mode: an App aimed at ``posyandu.devtools.fake_google`` with
``posyandu.devtools.firebase_local.point_firebase_at``). Dev mode can also set
``FIREBASE_FAKE_GOOGLE_URL`` (refused in production) to build such an App automatically.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import firebase_admin
import google.auth
import google.auth.exceptions
from firebase_admin import auth as fb_auth
from firebase_admin import credentials as fb_credentials
from firebase_admin import exceptions as fb_exceptions
from flask import Flask, current_app

from ..errors import Problem, Unauthorized
from .phones import InvalidPhone, normalise_phone

log = logging.getLogger(__name__)

_EXTENSION_KEY = "posyandu.firebase_auth_app"


class FirebaseUnavailable(Problem):
    status = 503
    slug = "firebase-unavailable"
    title = "Sign-in service unavailable"


class FirebaseNotConfigured(FirebaseUnavailable):
    """No service account (``GOOGLE_APPLICATION_CREDENTIALS``), no Application Default
    Credentials and no development fake: parent sign-in cannot work on this server."""

    slug = "firebase-not-configured"
    title = "Parent sign-in not configured"


NOT_CONFIGURED = ("Parent sign-in (Firebase) is not configured on this server: ask the "
                  "administrator to set GOOGLE_APPLICATION_CREDENTIALS.")


@dataclass(frozen=True)
class VerifiedPhone:
    uid: str
    phone: str
    name: str | None = None


def _build_app(flask_app: Flask) -> firebase_admin.App:
    config = flask_app.config
    project_id = config.get("FIREBASE_PROJECT_ID")
    fake_url = os.environ.get("FIREBASE_FAKE_GOOGLE_URL")
    options = {"projectId": project_id, "httpTimeout": 10}
    name = f"posyandu-auth-{id(flask_app):x}"
    if fake_url:
        if config.get("ENV_NAME") == "production":
            raise RuntimeError("FIREBASE_FAKE_GOOGLE_URL is a development setting; refusing it in production")
        from google.oauth2.credentials import Credentials

        from ..devtools.firebase_local import point_firebase_at
        fb_app = firebase_admin.initialize_app(Credentials("dev-static-token"), options, name=name)
        return point_firebase_at(fb_app, fake_url, messaging=False)
    path = config.get("FIREBASE_CREDENTIALS")
    try:
        if path:
            credential = fb_credentials.Certificate(path)
        else:
            google.auth.default()  # fails at once when there are no Application Default Credentials
            credential = fb_credentials.ApplicationDefault()
    except (google.auth.exceptions.GoogleAuthError, OSError, ValueError) as exc:
        log.warning("firebase not configured: %s", type(exc).__name__, extra={"event": "auth.firebase_not_configured"})
        raise FirebaseNotConfigured(NOT_CONFIGURED) from None
    return firebase_admin.initialize_app(credential, options, name=name)


def firebase_app(flask_app: Flask | None = None) -> firebase_admin.App:
    """The firebase_admin App of this Flask app (created on first use)."""
    flask_app = flask_app or current_app._get_current_object()
    fb_app = flask_app.extensions.get(_EXTENSION_KEY)
    if fb_app is None:
        fb_app = _build_app(flask_app)
        flask_app.extensions[_EXTENSION_KEY] = fb_app
    return fb_app


def use_firebase_app(flask_app: Flask, fb_app: firebase_admin.App | None) -> firebase_admin.App | None:
    """Install ``fb_app`` as this Flask app's Firebase App (``None``: back to lazy creation).
    Returns the previous one (the caller owns deleting Apps it created)."""
    previous = flask_app.extensions.get(_EXTENSION_KEY)
    if fb_app is None:
        flask_app.extensions.pop(_EXTENSION_KEY, None)
    else:
        flask_app.extensions[_EXTENSION_KEY] = fb_app
    return previous


def _refused(detail: str, slug: str = "invalid-id-token") -> Unauthorized:
    return Unauthorized(detail, slug=slug, title="Firebase sign-in failed")


def verify_phone_token(id_token: str) -> VerifiedPhone:
    """Verify a Firebase ID token (signature, audience, expiry, revocation, disabled user) and
    return the verified phone number in E.164. Any failure is 401; Google unreachable is 503."""
    try:
        claims = fb_auth.verify_id_token(id_token, app=firebase_app(), check_revoked=True)
    except fb_auth.ExpiredIdTokenError:
        raise _refused("The Firebase ID token expired; sign in again in the app.", "id-token-expired")
    except fb_auth.RevokedIdTokenError:
        raise _refused("The Firebase session was revoked; sign in again in the app.", "id-token-revoked")
    except fb_auth.UserDisabledError:
        raise _refused("This Firebase account is disabled.", "firebase-user-disabled")
    except fb_auth.UserNotFoundError:
        raise _refused("This Firebase account does not exist.", "firebase-user-not-found")
    except fb_auth.CertificateFetchError:
        log.warning("firebase certificate fetch failed", extra={"event": "auth.firebase_unavailable"})
        raise FirebaseUnavailable("Could not reach the sign-in service; try again shortly.")
    except (fb_auth.InvalidIdTokenError, ValueError):
        raise _refused("The Firebase ID token is not valid for this app.")
    except fb_exceptions.FirebaseError:
        log.warning("firebase verification error", extra={"event": "auth.firebase_unavailable"})
        raise FirebaseUnavailable("Could not reach the sign-in service; try again shortly.")
    except google.auth.exceptions.DefaultCredentialsError:
        log.warning("firebase not configured", extra={"event": "auth.firebase_not_configured"})
        raise FirebaseNotConfigured(NOT_CONFIGURED) from None
    except google.auth.exceptions.GoogleAuthError:  # e.g. the token endpoint unreachable
        log.warning("firebase credentials error", extra={"event": "auth.firebase_unavailable"})
        raise FirebaseUnavailable("Could not reach the sign-in service; try again shortly.")
    phone = claims.get("phone_number")
    if not phone:
        raise _refused("Sign in with your phone number (the token has no verified phone number).",
                       "phone-number-required")
    try:
        phone = normalise_phone(phone)
    except InvalidPhone:
        raise _refused("The verified phone number is not usable.", "phone-number-required")
    return VerifiedPhone(uid=claims["uid"], phone=phone, name=claims.get("name"))
