"""``flask`` CLI commands, grouped per feature, plus the ``posyandu`` console entry point."""
from __future__ import annotations

import os
import sys


def register(app) -> None:
    from .demo import cli as demo_cli
    app.cli.add_command(demo_cli.demo_group)
    for module_name, attr in COMMAND_GROUPS:
        try:
            module = __import__(f"posyandu.{module_name}", fromlist=[attr])
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("posyandu."):
                continue
            raise
        app.cli.add_command(getattr(module, attr))


#: (module, click group attribute) registered when the module exists.
COMMAND_GROUPS = [
    ("users.cli", "users_group"),
    ("regions.cli", "regions_group"),
    ("measurements.cli", "growth_group"),
    ("reminders.cli", "reminders_group"),
    ("reports.cli", "reports_group"),
    ("fhir.cli", "fhir_group"),
    ("apiclients.cli", "api_clients_group"),
]


def main() -> None:
    """``posyandu`` console script: the flask CLI bound to this app (``posyandu db upgrade`` …)."""
    from flask.cli import FlaskGroup

    from . import create_app
    os.environ.setdefault("FLASK_APP", "posyandu")
    group = FlaskGroup(create_app=lambda: create_app())
    sys.exit(group.main())
