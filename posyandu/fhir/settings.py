"""SATUSEHAT connection settings: nothing is sent unless all of them are configured.

``SATUSEHAT_BASE_URL`` (the FHIR base, e.g. ``https://api-satusehat.kemkes.go.id/fhir-r4/v1``),
``SATUSEHAT_AUTH_URL`` (the OAuth2 base; the token is POSTed to ``{AUTH_URL}/accesstoken``),
``SATUSEHAT_CLIENT_ID``, ``SATUSEHAT_CLIENT_SECRET`` and ``SATUSEHAT_ORGANIZATION_ID`` (the
submitting organization's IHS number). Production refuses a plain-http or loopback URL unless
``SATUSEHAT_ALLOW_INSECURE_URL=1`` (so a development fake is never used by mistake).
Tuning: ``SATUSEHAT_TIMEOUT_SECONDS`` (30), ``SATUSEHAT_MAX_ATTEMPTS`` (5),
``SATUSEHAT_RETRY_BASE_SECONDS`` (1), ``SATUSEHAT_RETRY_CAP_SECONDS`` (60).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

REQUIRED = ("SATUSEHAT_BASE_URL", "SATUSEHAT_AUTH_URL", "SATUSEHAT_CLIENT_ID", "SATUSEHAT_CLIENT_SECRET",
            "SATUSEHAT_ORGANIZATION_ID")


class NotConfigured(RuntimeError):
    """Submission is off: settings are missing or unsafe."""


def _is_loopback(host: str | None) -> bool:
    if not host:
        return True
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def insecure_url_problems(config: Mapping) -> list[str]:
    """Why the configured SATUSEHAT URLs are unsafe for production (empty list when fine)."""
    if config.get("SATUSEHAT_ALLOW_INSECURE_URL"):
        return []
    problems = []
    for key in ("SATUSEHAT_BASE_URL", "SATUSEHAT_AUTH_URL"):
        url = config.get(key)
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme != "https":
            problems.append(f"{key} must be an https:// URL (set SATUSEHAT_ALLOW_INSECURE_URL=1 to override)")
        elif _is_loopback(parts.hostname):
            problems.append(f"{key} points at this machine ({parts.hostname}), not at SATUSEHAT "
                            "(set SATUSEHAT_ALLOW_INSECURE_URL=1 to override)")
    return problems


def _number(config: Mapping, key: str, default: float) -> float:
    value = config.get(key)
    return float(value) if value not in (None, "") else default


@dataclass(frozen=True)
class SatusehatSettings:
    base_url: str
    auth_url: str
    client_id: str
    client_secret: str
    organization_id: str
    timeout_seconds: float = 30.0
    max_attempts: int = 5
    retry_base_seconds: float = 1.0
    retry_cap_seconds: float = 60.0

    @classmethod
    def from_config(cls, config: Mapping) -> "SatusehatSettings":
        missing = [key for key in REQUIRED if not config.get(key)]
        if missing:
            raise NotConfigured("SATUSEHAT submission is not configured; set " + ", ".join(missing))
        if config.get("ENV_NAME") == "production":
            problems = insecure_url_problems(config)
            if problems:
                raise NotConfigured("; ".join(problems))
        return cls(base_url=config["SATUSEHAT_BASE_URL"].rstrip("/"), auth_url=config["SATUSEHAT_AUTH_URL"].rstrip("/"),
                   client_id=config["SATUSEHAT_CLIENT_ID"], client_secret=config["SATUSEHAT_CLIENT_SECRET"],
                   organization_id=str(config["SATUSEHAT_ORGANIZATION_ID"]),
                   timeout_seconds=_number(config, "SATUSEHAT_TIMEOUT_SECONDS", 30.0),
                   max_attempts=max(1, int(_number(config, "SATUSEHAT_MAX_ATTEMPTS", 5))),
                   retry_base_seconds=_number(config, "SATUSEHAT_RETRY_BASE_SECONDS", 1.0),
                   retry_cap_seconds=_number(config, "SATUSEHAT_RETRY_CAP_SECONDS", 60.0))
