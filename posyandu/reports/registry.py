"""Every downloadable report, by kind: one place the download endpoint and the CLI look up.

A report module registers a builder::

    from .registry import register

    @register("skdn", title_id="Laporan SKDN", title_en="SKDN report", options=("by",))
    def skdn_document(scope, area, month, options) -> ReportDocument: ...

- ``scope``: the caller's :class:`~posyandu.auth.scope.Scope` (the CLI passes an admin scope
  unless ``--as-user``); by-name reports use it for what the role may see (NIK).
- ``area``: an :class:`~posyandu.reports.areas.Area` already resolved inside ``scope`` (404
  outside), ``month``: a :class:`~posyandu.reports.areas.Month` already checked (422 future).
- ``options``: ``{name: str}`` from the query string (``?by=desa``) or the CLI
  (``--by desa``, ``--option name=value``), only the names listed in ``options``. The builder
  validates them and raises ``InvalidInput(errors={name: [...]})`` for a bad value. A builder
  that lists ``lang`` receives the caller's language (``id``/``en``) for text it writes into
  rows; column labels and titles are bilingual in the document anyway.
- It returns a :class:`~posyandu.reports.document.ReportDocument`; a table's ``rows`` may be a
  generator (by-name exports stream a whole kabupaten with bounded memory). The builder runs
  inside the request (or CLI app context), so its queries may run lazily while rows are read.

Modules that register are listed in ``REPORT_MODULES`` and imported on first use (a module that
does not exist yet is skipped, so branches can land in any order).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..errors import InvalidInput, NotFound

#: Modules whose import registers report kinds (add yours; missing modules are skipped).
REPORT_MODULES = [
    "posyandu.reports.coverage",
    "posyandu.reports.immunization_coverage",
    "posyandu.reports.eppgbm",
    "posyandu.reports.nutrition",
    "posyandu.reports.skdn",
    "posyandu.reports.trend",
    "posyandu.reports.follow_up",
]

#: Options every builder may receive without declaring them.
COMMON_OPTIONS = ()


@dataclass(frozen=True)
class ReportKind:
    kind: str
    build: Callable
    title_id: str
    title_en: str
    #: Query/CLI option names the builder accepts (e.g. ``("by",)``).
    options: tuple[str, ...] = ()
    #: True when rows name children (personal data: streamed, NIK per role, audited).
    by_name: bool = False
    description_en: str = ""

    def title(self, language: str = "id") -> str:
        return self.title_en if language == "en" else self.title_id


REPORTS: dict[str, ReportKind] = {}
_loaded = False


def register(kind: str, *, title_id: str, title_en: str, options=(), by_name: bool = False,
             description_en: str = ""):
    """Decorator: register ``fn(scope, area, month, options) -> ReportDocument`` as ``kind``."""
    def decorator(fn):
        REPORTS[kind] = ReportKind(kind=kind, build=fn, title_id=title_id, title_en=title_en,
                                   options=tuple(options), by_name=by_name, description_en=description_en)
        return fn
    return decorator


def load_all() -> dict[str, ReportKind]:
    """Import the registering modules once; returns the registry."""
    global _loaded
    if not _loaded:
        for name in REPORT_MODULES:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
        _loaded = True
    return REPORTS


def get(kind: str) -> ReportKind:
    """The registered kind, or 404 (an unknown report is simply not there)."""
    spec = load_all().get(kind)
    if spec is None:
        raise NotFound(f"No report {kind!r}.")
    return spec


def pick_options(spec: ReportKind, given: dict) -> dict:
    """Only the options ``spec`` declares; an undeclared one is a 422 naming it."""
    unknown = sorted(k for k in given if k not in spec.options and k not in COMMON_OPTIONS)
    if unknown:
        allowed = ", ".join(spec.options) or "none"
        raise InvalidInput(f"The {spec.kind} report takes no option {unknown[0]!r}.",
                           errors={k: [f"Unknown option for this report (allowed: {allowed})."] for k in unknown})
    return {k: v for k, v in given.items() if v is not None}


def build(kind: str, scope, area, month, options: dict | None = None):
    """Look up ``kind`` and build its document (options filtered and checked)."""
    spec = get(kind)
    return spec.build(scope, area, month, pick_options(spec, options or {}))
