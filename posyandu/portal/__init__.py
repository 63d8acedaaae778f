"""The web portal for puskesmas and dinkes staff (server-rendered, Flask + Jinja, ``/portal``).

No CDN and no front-end build: templates and plain CSS served by the app; the vendored
Swagger UI and ReDoc assets for ``/api/v1/docs`` and ``/api/v1/redoc`` live in
``static/vendor``. See docs/portal.md.
"""
from __future__ import annotations


def init_app(app) -> None:
    from .views import bp
    app.register_blueprint(bp)

    @app.route("/")
    def _root():
        """The server's front page is the portal (the API lives under /api/v1)."""
        from flask import redirect, url_for
        return redirect(url_for("portal.month"))
