"""Personal identifiers at rest: encrypted, HMAC-indexed and masked (reporting-id.md §6, UU 27/2022).

For each identifier (child NIK, mother's NIK, family card number) the ``child`` row stores three
columns:

- ``*_encrypted``: Fernet token (AES-128-CBC + HMAC-SHA256, random IV) of the 16 digits;
- ``*_hmac``: HMAC-SHA256 hex of the 16 digits, for exact lookup ("search by NIK") and
  duplicate checks without decrypting anything;
- ``*_masked``: ``3525********0001`` (first 4 and last 4 digits) for display.

Both keys are derived from the one configured secret ``NIK_ENCRYPTION_KEY`` with HKDF-SHA256 and
distinct ``info`` labels, so the encryption key and the lookup key are independent. Production
refuses to start with the development default (``posyandu.config.validate``).

Changing ``NIK_ENCRYPTION_KEY`` makes the stored values unreadable and the HMACs unmatched: a key
rotation needs a re-encryption job (not written yet; Fernet's ``MultiFernet`` supports it).
Values never go to logs; ``posyandu.audit.log`` shows only that they changed.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_FERNET_INFO = b"posyandugo/nik/fernet/v1"
_HMAC_INFO = b"posyandugo/nik/hmac/v1"


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[Fernet, bytes]:
    fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, _FERNET_INFO)))
    return fernet, _derive(secret, _HMAC_INFO)


def _current_keys() -> tuple[Fernet, bytes]:
    return _keys(current_app.config["NIK_ENCRYPTION_KEY"])


def encrypt(value: str) -> str:
    return _current_keys()[0].encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str | None:
    if token is None:
        return None
    return _current_keys()[0].decrypt(token.encode()).decode()


def lookup_hmac(value: str) -> str:
    """Deterministic keyed hash of a cleaned 16-digit identifier (64 hex characters)."""
    return hmac.new(_current_keys()[1], value.encode(), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    """``3525015503240001`` → ``3525********0001``."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def protect(value: str | None) -> tuple[str | None, str | None, str | None]:
    """(encrypted, hmac, masked) for a cleaned identifier; three ``None`` for no value."""
    if not value:
        return None, None, None
    return encrypt(value), lookup_hmac(value), mask(value)
