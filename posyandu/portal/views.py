"""The portal's pages (thin: resolve area and month in the caller's scope, call the same
operations the API calls, render). Anything outside the caller's scope is the 404 page."""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ..auth.ratelimit import login_account_limit, login_address_limit, mark_failed, password_change_limit
from ..errors import InvalidInput, NotFound, Problem, Unauthorized
from ..extensions import db
from ..i18n import translate, translate_errors
from . import session
from .labels import label

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates",
               static_folder="static", static_url_path="/static")

#: Pages anyone may open (the rest need a signed-in staff member).
PUBLIC_ENDPOINTS = {"portal.login", "portal.static", "portal.language"}

#: Which area charts belong to which report page (``posyandu/charts``).
REPORT_CHARTS = {
    "nutrition-status": ("z-distribution", "trend"),
    "skdn": ("trend",),
    "trend": ("trend",),
    "vitamin-a-breastfeeding": ("vitamin-a-breastfeeding",),
    "immunization-coverage": ("immunization-coverage",),
}
#: Overdue immunizations are listed per posyandu (the schedule engine per child) up to this many.
OVERDUE_LIST_MAX_POSYANDU = 40
#: Report kinds shown first, in the order of the stunting-reports issue.
REPORT_ORDER = ("nutrition-status", "skdn", "trend", "vitamin-a-breastfeeding", "immunization-coverage")


# --------------------------------------------------------------------------- plumbing
@bp.before_request
def _require_session():
    scope = session.load_session()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if scope is None:
        if request.method == "GET":
            return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("portal.login"))
    session.check_csrf()
    return None


@bp.after_request
def _cookies(response):
    response = session.after_request(response)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'")
    return response


def lang() -> str:
    if "portal_language" not in g:
        g.portal_language = session.portal_language()
    return g.portal_language


@bp.app_context_processor
def _template_helpers():
    if not request.blueprint == "portal":
        return {}
    language = lang()
    return {"t": lambda key, **kw: label(key, language).format(**kw) if kw else label(key, language),
            "lang": language, "csrf_token": session.csrf_token if g.get("portal_scope") else session.login_form_token,
            "me": g.get("portal_me"), "scope": g.get("portal_scope")}


@bp.errorhandler(session.CsrfFailure)
def _csrf_failure(error):
    return render_template("portal/error.html", title=label("error", lang()), message=label("csrf", lang())), 400


@bp.errorhandler(Problem)
def _problem(error: Problem):
    if error.status == 404:
        return not_found_page()
    if error.status == 401:
        return redirect(url_for("portal.login"))
    message = translate(error.detail or error.title, lang())
    details = translate_errors(error.errors, lang()) if error.errors else None
    return render_template("portal/error.html", title=label("error", lang()), message=message,
                           details=details), error.status


@bp.errorhandler(HTTPException)
def _http(error: HTTPException):
    if error.code == 404:
        return not_found_page()
    if error.code == 429:
        retry = error.response.headers.get("Retry-After") if getattr(error, "response", None) is not None else None
        minutes = max(1, -(-int(retry) // 60)) if retry and retry.isdigit() else 15
        template = "portal/login.html" if request.endpoint == "portal.login" else "portal/error.html"
        response = Response(render_template(template, error=label("too_many", lang()).format(minutes=minutes),
                                            title=label("error", lang()), message=label("too_many", lang())
                                            .format(minutes=minutes)), status=429, mimetype="text/html")
        if retry:
            response.headers["Retry-After"] = retry
        return response
    return render_template("portal/error.html", title=label("error", lang()), message=error.name), error.code


def not_found_page():
    return render_template("portal/not_found.html"), 404


# --------------------------------------------------------------------------- area and month
def _scope():
    return g.portal_scope


def area_and_month():
    """The page's area (``level`` + ``code``, default the caller's own) and month, checked."""
    from ..reports.areas import current_month, default_area, parse_month, resolve_area
    scope = _scope()
    level, code = request.args.get("level"), request.args.get("code")
    if level and code:
        area = resolve_area(scope, level, code)  # outside the scope: NotFound -> the 404 page
    else:
        area = default_area(scope)
        if area is None:
            first = _first_area(scope)
            if first is None:
                raise NotFound("No such area.")
            area = first
    month_text = request.args.get("month")
    month = parse_month(month_text) if month_text else current_month()
    return area, month


def _first_area(scope):
    """An area for accounts with no single default (admin: the first kabupaten; a kader of
    several posyandu: the first of them)."""
    from ..regions.models import Posyandu, Region
    from ..reports.areas import Area
    from ..regions import codes
    if scope.role == "admin":
        row = db.session.scalars(sa.select(Region).where(Region.level == "kabupaten").order_by(Region.code)).first()
        return Area("kabupaten", row.code, codes.dotted(row.code), row.name) if row else None
    if scope.role == "kader" and scope.posyandu_ids:
        row = db.session.scalars(sa.select(Posyandu).where(Posyandu.id.in_(sorted(scope.posyandu_ids)))
                                 .order_by(Posyandu.code)).first()
        return Area("posyandu", row.id, row.code, row.name) if row else None
    return None


def area_args(area, month, **extra) -> dict:
    return {"level": area.level, "code": area.code, "month": str(month), **extra}


def _month_shift(month, delta: int):
    from ..reports.areas import Month
    index = month.index + delta
    return Month(index // 12, index % 12 + 1)


def picker(area, month) -> dict:
    """What the month and area pickers show: the months around, the way up and the areas below."""
    from ..reports.areas import current_month
    from .areas import breadcrumbs, sub_areas
    now = current_month()
    previous = _month_shift(month, -1)
    following = _month_shift(month, 1)
    return {"area": area, "month": month, "previous": previous,
            "next": following if following.index <= now.index else None,
            "max_month": str(now), "crumbs": breadcrumbs(_scope(), area), "below": sub_areas(_scope(), area)}


# --------------------------------------------------------------------------- sign-in
def _safe_next(target: str | None) -> str | None:
    """Only a path of this portal (never another host: an open redirect)."""
    if target and target.startswith("/portal/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@login_account_limit
@login_address_limit
def login():
    """The sign-in form; failed attempts count against the API's sign-in limits (shared)."""
    if request.method == "GET":
        if g.get("portal_scope") is not None:
            return redirect(url_for("portal.month"))
        return render_template("portal/login.html", next=_safe_next(request.args.get("next")))
    session.check_login_form_token()
    login_name = (request.form.get("login") or "").strip()
    password = request.form.get("password") or ""
    try:
        session.sign_in(login_name, password)
    except Unauthorized as error:
        mark_failed()
        key = "account_disabled" if error.slug == "account-disabled" else "bad_login"
        return render_template("portal/login.html", error=label(key, lang()), login=login_name,
                               next=_safe_next(request.form.get("next"))), 401
    return redirect(_safe_next(request.form.get("next")) or url_for("portal.month"))


@bp.route("/logout", methods=["POST"])
def logout():
    session.sign_out()
    g.portal_scope = None
    return render_template("portal/login.html", info=label("signed_out", lang()))


@bp.route("/language", methods=["POST"])
def language():
    """Switch the portal's language (a cookie); the form carries the page's CSRF token."""
    if g.get("portal_scope") is not None:
        session.check_csrf()
    else:
        session.check_login_form_token()
    chosen = request.form.get("lang")
    if chosen not in ("id", "en"):
        raise InvalidInput("Choose id or en.", errors={"lang": ["Must be one of: id, en."]})
    back = _safe_next(request.form.get("next")) or url_for("portal.month")
    return session.set_language_cookie(redirect(back), chosen)


@bp.route("/password", methods=["GET", "POST"])
@password_change_limit
def password():
    """Change one's own password (every other session is signed out, as in the API)."""
    from ..auth import operations as ops
    from ..auth.scope import load_current_user
    if request.method == "GET":
        return render_template("portal/password.html")
    user = load_current_user()
    try:
        pair = ops.change_own_password(user, request.form.get("current_password") or "",
                                       request.form.get("new_password") or "")
    except InvalidInput as error:
        errors = translate_errors(error.errors or {}, lang())
        return render_template("portal/password.html", errors=errors,
                               message=translate(error.detail, lang())), 422
    g.portal_new_pair = pair
    return render_template("portal/password.html", info=label("password_changed", lang()))


# --------------------------------------------------------------------------- pages
@bp.route("/")
def home():
    return redirect(url_for("portal.month"))


@bp.route("/month")
def month():
    """Per posyandu of the area: the month's indicators with their colours."""
    from ..reports.areas import LEVELS_BELOW
    from .glance import area_rows
    area, month_ = area_and_month()
    choices = ("posyandu",) + tuple(level for level in LEVELS_BELOW[area.level] if level != "posyandu")
    by = request.args.get("by") or "posyandu"
    if by not in choices:
        raise InvalidInput(f"Rows by {by!r} are not offered for this area.",
                           errors={"by": [f"Must be one of: {', '.join(choices)}."]})
    rows = area_rows(_scope(), area, month_, by=by)
    return render_template("portal/month.html", rows=rows, pick=picker(area, month_), by=by, by_choices=choices,
                           class_labels=_quality_labels(), args=area_args(area, month_))


def _quality_labels() -> dict:
    from ..core.quality import CLASS_LABELS
    return {key: pair[1 if lang() == "en" else 0] for key, pair in CLASS_LABELS.items()}


@bp.route("/reports")
def reports():
    from ..reports import registry
    area, month_ = area_and_month()
    kinds = _report_kinds(registry)
    return render_template("portal/reports.html", kinds=kinds, pick=picker(area, month_),
                           args=area_args(area, month_))


def _report_kinds(registry):
    specs = registry.load_all()
    ordered = [specs[k] for k in REPORT_ORDER if k in specs]
    ordered += sorted((s for k, s in specs.items() if k not in REPORT_ORDER), key=lambda s: s.kind)
    return ordered


@bp.route("/reports/<string:kind>")
def report(kind):
    """One report as tables (aggregates; by-name exports are downloads only), its charts and
    the Excel/CSV downloads."""
    from ..reports import export, registry
    area, month_ = area_and_month()
    spec = registry.get(kind)
    document = None
    if not spec.by_name:
        options = {"lang": lang()} if "lang" in spec.options else {}
        document = export.document_json(spec.build(_scope(), area, month_, registry.pick_options(spec, options)),
                                        lang())
    charts = [url_for("portal.area_chart", chart=c, **area_args(area, month_)) for c in REPORT_CHARTS.get(kind, ())]
    return render_template("portal/report.html", spec=spec, title=spec.title(lang()), document=document,
                           charts=charts, pick=picker(area, month_), args=area_args(area, month_))


@bp.route("/download/<string:kind>.<any(xlsx,csv,zip):fmt>")
def download(kind, fmt):
    """The report file, built by the same code as ``GET /api/v1/reports/{kind}.{fmt}``."""
    from flask import stream_with_context
    from ..reports import export
    from ..reports import routes_exports as api
    area, month_ = area_and_month()
    args = {"level": area.level, "code": area.code, "month": str(month_), "lang": lang()}
    table_key = request.args.get("table")
    document, language = api._build(kind, args, {})
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if fmt == "xlsx":
        return api._xlsx_response(document, language, headers)
    if fmt == "zip":
        headers["Content-Disposition"] = f'attachment; filename="{export.filename(document, "zip")}"'
        return Response(stream_with_context(export.iter_zip(document, language=language)),
                        mimetype=export.MEDIA_TYPES["zip"], headers=headers)
    table = api._pick_table(document, table_key)
    name = export.filename(document, "csv", table if len(document.tables) > 1 else None)
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(stream_with_context(export.iter_csv_bytes(table, language=language)), headers=headers,
                    content_type=export.MEDIA_TYPES["csv"])


@bp.route("/charts/<any('z-distribution', trend, 'vitamin-a-breastfeeding', 'immunization-coverage'):chart>.svg")
def area_chart(chart):
    from ..charts import operations as charts
    from ..charts.routes import _send
    area, month_ = area_and_month()
    if chart in charts.COVERAGE_KINDS:
        picture = charts.coverage_chart(chart, _scope(), area, month_, "svg", lang=lang())
    elif chart == "trend":
        picture = charts.trend_chart(_scope(), area, month_, 12, "svg", lang=lang())
    else:
        picture = charts.distribution_chart(area, month_, "svg", lang=lang())
    return _send(picture)


@bp.route("/follow-up")
def follow_up():
    """Children to follow up (``reports.follow_up.follow_up_list``: the reasons with their numbers,
    early warning for small areas), then overdue immunizations; each links to the child's page."""
    from ..immunizations.operations import overdue_list
    from ..regions.models import Posyandu
    from ..reports.follow_up import as_of, follow_up_list
    area, month_ = area_and_month()
    found = follow_up_list(_scope(), area, month_, reason=request.args.get("reason") or None,
                           cursor=request.args.get("cursor"), limit=100, language=lang())
    overdue = []
    posyandu_ids = db.session.scalars(sa.select(Posyandu.id).where(area.posyandu_condition())
                                      .order_by(Posyandu.code)).all()
    if len(posyandu_ids) <= OVERDUE_LIST_MAX_POSYANDU:
        for pid in posyandu_ids:
            items, _cursor = overdue_list(_scope(), posyandu_id=pid, on=as_of(month_), limit=100)
            overdue.extend(items)
    return render_template("portal/follow_up.html", found=found, overdue=overdue,
                           overdue_shown=len(posyandu_ids) <= OVERDUE_LIST_MAX_POSYANDU,
                           pick=picker(area, month_), args=area_args(area, month_))


@bp.route("/early-warning")
def early_warning():
    from ..early_warning.operations import area_list
    area, month_ = area_and_month()
    found = area_list(_scope(), area, month_, rule=request.args.get("rule") or None,
                      cursor=request.args.get("cursor"), limit=100, language=lang())
    return render_template("portal/early_warning.html", found=found, pick=picker(area, month_),
                           args=area_args(area, month_))


@bp.route("/quality")
def quality():
    from ..quality.operations import quality_report
    area, month_ = area_and_month()
    report = quality_report(_scope(), {"level": area.level, "code": area.code, "month": str(month_)},
                            groupings=("posyandu", "cadre"))
    return render_template("portal/quality.html", total=report.total.as_dict(lang()),
                           by_posyandu=report.as_dict("posyandu", lang())["groups"],
                           by_cadre=report.as_dict("cadre", lang())["groups"],
                           pick=picker(area, month_), args=area_args(area, month_))


@bp.route("/children/<uuid:child_id>", methods=["GET", "POST"])
def child(child_id: uuid.UUID):
    """The child as the role may see it (identifiers masked; puskesmas, dinkes and admin staff
    may show them in clear with the form, which is audited as in the API's ``?reveal=nik``),
    growth table, KMS charts, immunization schedule and the audit of changes."""
    from ..audit.models import AuditEvent
    from ..charts import operations as charts
    from ..children.schemas import ChildSchema
    from ..immunizations.operations import child_schedule
    from ..measurements.operations import child_growth
    scope = _scope()
    child_row, measurements = child_growth(scope, child_id)  # outside the scope: the 404 page
    identity = ChildSchema().dump(child_row)
    revealed = None
    if request.method == "POST":  # CSRF checked before the view runs
        from ..children.operations import reveal_identifiers
        revealed = reveal_identifiers(scope, child_row)  # kader: 403 page
    schedule = child_schedule(scope, child_id)
    chart_index = charts.child_chart_index(scope, child_id)
    events = []
    if scope.role != "kader":  # the audit API is for supervisors; a kader sees her own records only
        events = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.child_id == str(child_id),
                                        scope.posyandu_clause(AuditEvent.posyandu_id) if scope.role != "admin"
                                        else sa.true())
            .order_by(AuditEvent.id.desc()).limit(100)).scalars().all()
    return render_template("portal/child.html", child=identity, measurements=measurements, schedule=schedule,
                           charts=chart_index, events=events, revealed=revealed,
                           may_reveal=scope.role in ("admin", "dinkes", "puskesmas"))


@bp.route("/children/<uuid:child_id>/charts/<string:indicator>.svg")
def child_chart(child_id: uuid.UUID, indicator: str):
    from ..charts import operations as charts
    from ..charts.routes import _send
    return _send(charts.child_chart(_scope(), child_id, indicator, "svg", lang=lang()))


@bp.route("/<path:anything>")
def missing(anything):
    return not_found_page()


def query(args: dict, **changes) -> str:
    merged = {**args, **changes}
    return urlencode({k: v for k, v in merged.items() if v is not None})


bp.add_app_template_global(query, "portal_query")
