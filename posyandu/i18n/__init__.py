"""One small translation mechanism for every message a user can see (docs/errors-and-languages.md).

Messages are written in English in the code (problem details, field errors, marshmallow's own
messages, warnings). They are translated at the edge, when a response is built, into the
caller's language:

1. the signed-in account's preference (``user_account.language``; read from the loaded request
   user, or from the ``lang`` claim of a valid access token when the request failed before the
   account was loaded -- never from the database inside an error handler);
2. else the ``Accept-Language`` header (``id``/``in``, ``en``, with regions such as ``id-ID``);
3. else Bahasa Indonesia.

The catalogue (``data/messages_id.json``) maps each English message, or an English template with
``{placeholders}``, to its Indonesian text. Lookup is exact first, then by template (the most
specific template wins), so messages built with f-strings and marshmallow's formatted messages
(``Must be one of: lying, standing.``) need no change where they are raised. English is the
message itself. A message missing from the catalogue is answered in English;
``tests/test_i18n.py`` scans the code base so that none is missing.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
#: Language tags mapped to ours ("in" is the withdrawn ISO 639 code still sent by old Android).
_TAG_ALIASES = {"id": "id", "in": "id", "en": "en"}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class Catalogue:
    """English message or template -> Indonesian; see the module docstring."""

    def __init__(self, messages: dict[str, str]):
        self.exact: dict[str, str] = {}
        templates = []
        for english, indonesian in messages.items():
            names = _PLACEHOLDER.findall(english)
            if not names:
                self.exact[english] = indonesian
                continue
            if sorted(set(_PLACEHOLDER.findall(indonesian))) != sorted(set(names)):
                raise ValueError(f"catalogue: placeholders differ between {english!r} and {indonesian!r}")
            pattern, position, seen = [], 0, set()
            for match in _PLACEHOLDER.finditer(english):
                pattern.append(re.escape(english[position:match.start()]))
                name = match.group(1)
                pattern.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
                seen.add(name)
                position = match.end()
            pattern.append(re.escape(english[position:]))
            literal = len(_PLACEHOLDER.sub("", english))
            templates.append((literal, re.compile("".join(pattern), re.DOTALL), indonesian, english))
        # the most specific template (most literal text) is tried first
        templates.sort(key=lambda t: -t[0])
        self.templates = [(regex, indonesian, english) for _, regex, indonesian, english in templates]

    def lookup(self, text: str) -> str | None:
        hit = self.exact.get(text)
        if hit is not None:
            return hit
        for regex, indonesian, _english in self.templates:
            match = regex.fullmatch(text)
            if match:
                values = match.groupdict()
                return _PLACEHOLDER.sub(lambda m: values[m.group(1)], indonesian)
        return None

    def skeletons(self) -> set[str]:
        """Every entry with its placeholders replaced by ``{}`` (for the completeness test)."""
        return {_PLACEHOLDER.sub("{}", english) for english in (*self.exact, *(t[2] for t in self.templates))}


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    raw = json.loads(resources.files(__package__).joinpath("data/messages_id.json").read_text(encoding="utf-8"))
    messages: dict[str, str] = {}
    for group in raw["groups"].values():
        for english, indonesian in group.items():
            if english in messages and messages[english] != indonesian:
                raise ValueError(f"catalogue: {english!r} translated twice differently")
            messages[english] = indonesian
    return Catalogue(messages)


def translate(text, language: str | None = None):
    """``text`` in ``language`` (default: the caller's); non-strings and unknown texts unchanged."""
    if not isinstance(text, str) or not text:
        return text
    language = language or current_language()
    if language == "en":
        return text
    translated = catalogue().lookup(text)
    return text if translated is None else translated


def translate_errors(errors, language: str | None = None):
    """``{field: [messages]}`` (or nested lists/dicts of messages) with every message translated."""
    language = language or current_language()
    if language == "en" or errors is None:
        return errors
    if isinstance(errors, dict):
        return {key: translate_errors(value, language) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [translate_errors(value, language) for value in errors]
    return translate(errors, language)


def pick(indonesian: str | None, english: str | None, language: str | None = None) -> str | None:
    """One of a pair of labels kept in both languages in data files (warnings, categories)."""
    language = language or current_language()
    return english if language == "en" and english else indonesian


# ---------------------------------------------------------------------------------------
# the caller's language
# ---------------------------------------------------------------------------------------
def normalise_language(tag) -> str | None:
    """``id``/``in``/``en`` (with any region or case) -> ours; anything else -> None."""
    if not isinstance(tag, str):
        return None
    return _TAG_ALIASES.get(tag.strip().split("-")[0].split("_")[0].lower())


def accept_language(header: str | None) -> str | None:
    """The best of our languages in an ``Accept-Language`` header (q-values honoured)."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    if not header:
        return None
    best = None
    for tag, quality in parse_accept_header(header, LanguageAccept):
        language = normalise_language(tag)
        if language is not None and quality > 0 and (best is None or quality > best[1]):
            best = (language, quality)
    return best[0] if best else None


def current_language() -> str:
    """The caller's language: account preference, then Accept-Language, then Indonesian."""
    from flask import g, has_request_context, request

    if not has_request_context():
        return DEFAULT_LANGUAGE
    user = g.get("request_user")
    language = normalise_language(getattr(user, "language", None)) if user is not None else None
    if language is None:
        language = _token_language(request)
    return language or accept_language(request.headers.get("Accept-Language")) or DEFAULT_LANGUAGE


def _token_language(request) -> str | None:
    """The ``lang`` claim of a valid access token (requests that failed before the account was
    loaded). No database access: this runs inside error handlers too."""
    header = request.headers.get("Authorization", "")
    if not header[:7].lower() == "bearer ":
        return None
    try:
        from flask_jwt_extended import decode_token
        claims = decode_token(header[7:].strip())
    except Exception:  # noqa: BLE001 -- any invalid token: no account language
        return None
    return normalise_language(claims.get("lang")) if claims.get("type") == "access" else None


# ---------------------------------------------------------------------------------------
# response parts
# ---------------------------------------------------------------------------------------
def localize_warning(warning, language: str | None = None):
    """A warning dict with ``message`` in the caller's language: from its ``label_id``/``label_en``
    pair (growth warnings, kept as stored) or by translating its English ``message`` (child and
    immunization warnings)."""
    if not isinstance(warning, dict):
        return warning
    language = language or current_language()
    out = dict(warning)
    if "label_id" in out or "label_en" in out:
        out["message"] = pick(out.get("label_id"), out.get("label_en"), language)
    elif isinstance(out.get("message"), str):
        out["message"] = translate(out["message"], language)
    return out


def localize_receipt(receipt: dict, language: str | None = None) -> dict:
    """A ``/sync/push`` receipt with its ``errors``, ``detail`` and ``warnings`` in the caller's
    language (the ``record`` is data and stays as stored)."""
    language = language or current_language()
    out = dict(receipt)
    if out.get("errors"):
        out["errors"] = translate_errors(out["errors"], language)
    if out.get("detail"):
        out["detail"] = translate(out["detail"], language)
    if out.get("warnings"):
        out["warnings"] = [localize_warning(w, language) for w in out["warnings"]]
    return out
