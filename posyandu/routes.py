"""The API's blueprints, one per feature, in one greppable list."""


def API_BLUEPRINTS():
    from .auth.routes import blp as auth
    from .regions.routes import blp as regions
    from .children.routes import blp as children
    from .measurements.routes import blp as measurements
    from .sync.routes import blp as sync
    from .audit.routes import blp as audit
    from .users.routes import blp as users
    from .devices.routes import blp as devices
    from .immunizations.routes import blp as immunizations
    from .calendar.routes import blp as calendar
    from .reports.routes_exports import blp as report_exports
    from .charts.routes import blp as charts
    from .reminders.routes import blp as reminders
    from .early_warning.routes import blp as early_warning
    from .fhir.routes import blp as fhir
    from .quality.routes import blp as quality
    from .reports.routes_follow_up import blp as report_follow_up
    return [auth, users, regions, children, measurements, sync, audit, devices, reminders, immunizations, calendar,
            early_warning, fhir, quality, report_exports, charts,
            report_follow_up]
