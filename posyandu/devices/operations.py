"""Use cases for parents' devices and notification preferences (flush, never commit).

- register: a token seen before is the same installation: ``last_seen_at`` is updated and a
  retired row is brought back (a token that moved to another parent's account — the phone
  changed hands — moves with it, and the previous parent's unsent pushes to it are cancelled).
  Then the device gets the deliveries of the parent's children's future reminders.
- refresh (the app's token rotated): the old row is retired as ``replaced``, its unsent
  deliveries are cancelled and the new token gets the future deliveries.
- retire (sign-out): ``retired_at`` / ``signed_out``; unsent deliveries cancelled.
Audit entries name the device id, never the token.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..audit.log import audit, field_diff
from ..auth.models import User
from ..db import utcnow
from ..errors import NotFound
from ..concurrent_writes import new_rows, replay_when_taken
from ..extensions import db
from ..reminders import planning
from .models import Device


def _own(user: User, device_id: int) -> Device:
    """The caller's own device, retired or not (another parent's id is simply not found)."""
    device = db.session.execute(sa.select(Device).where(Device.id == device_id, Device.user_id == user.id)
                                ).scalar_one_or_none()
    if device is None:
        raise NotFound("No such device.")
    return device


def list_devices(user: User) -> list[Device]:
    return db.session.execute(sa.select(Device).where(Device.user_id == user.id, Device.retired_at.is_(None))
                              .order_by(Device.id)).scalars().all()


@replay_when_taken
def register_device(user: User, data: dict) -> tuple[Device, bool]:
    """Register (or re-register) a token for ``user``; returns (device, created)."""
    now = utcnow()
    device = db.session.execute(sa.select(Device).where(Device.token == data["token"])).scalar_one_or_none()
    created = device is None
    if created:
        device = Device(user_id=user.id, token=data["token"], kind=data["kind"], platform=data["platform"],
                        app_version=data.get("app_version"), created_at=now, last_seen_at=now)
        with new_rows(db.session):  # the same token registered meanwhile: replayed as a re-registration
            db.session.add(device)
        audit("register", "device", device.id, changes={"kind": [None, device.kind],
                                                        "platform": [None, device.platform]})
    else:
        before = {"user_id": device.user_id, "retired_reason": device.retired_reason, "kind": device.kind,
                  "platform": device.platform, "app_version": device.app_version}
        if device.user_id != user.id:
            planning.cancel_device_deliveries(db.session, device.id, now, except_user_id=user.id)
            device.user_id = user.id
        device.kind, device.platform = data["kind"], data["platform"]
        if "app_version" in data and data["app_version"] is not None:
            device.app_version = data["app_version"]
        device.last_seen_at = now
        device.retired_at = None
        device.retired_reason = None
        db.session.flush()
        after = {"user_id": device.user_id, "retired_reason": None, "kind": device.kind,
                 "platform": device.platform, "app_version": device.app_version}
        changes = field_diff(before, after)
        if changes:
            audit("reregister", "device", device.id, changes=changes)
    planning.fan_out_for_user(db.session, user, now, device_ids=[device.id])
    return device, created


def refresh_device(user: User, device_id: int, data: dict) -> Device:
    """Replace the token of one of the caller's devices (the app's token rotated)."""
    old = _own(user, device_id)
    if old.token == data["token"]:
        if old.retired_at is not None:
            raise NotFound("No such device.")
        old.last_seen_at = utcnow()
        return old
    if old.retired_at is not None and old.retired_reason != "replaced":
        raise NotFound("No such device.")
    now = utcnow()
    if old.retired_at is None:
        old.retired_at = now
        old.retired_reason = "replaced"
        planning.cancel_device_deliveries(db.session, old.id, now)
        audit("replace", "device", old.id, changes={"retired_reason": [None, "replaced"]})
    new_data = {"token": data["token"], "kind": data.get("kind", old.kind),
                "platform": data.get("platform", old.platform),
                "app_version": data.get("app_version", old.app_version)}
    device, _ = register_device(user, new_data)
    return device


def retire_device(user: User, device_id: int) -> None:
    """Sign-out on that phone: no more pushes to it (again: a no-op)."""
    device = _own(user, device_id)
    if device.retired_at is not None:
        return
    now = utcnow()
    device.retired_at = now
    device.retired_reason = "signed_out"
    planning.cancel_device_deliveries(db.session, device.id, now)
    db.session.flush()
    audit("retire", "device", device.id, changes={"retired_reason": [None, "signed_out"]})


def preferences(user: User) -> dict:
    return {"language": user.language or "id", "quiet_start": user.quiet_start, "quiet_end": user.quiet_end}


def _audit_view(prefs: dict) -> dict:
    return {k: (v.strftime("%H:%M") if hasattr(v, "strftime") else v) for k, v in prefs.items()}


def update_preferences(user: User, data: dict) -> dict:
    before = preferences(user)
    for key in ("language", "quiet_start", "quiet_end"):
        if key in data:
            setattr(user, key, data[key])
    db.session.flush()
    after = preferences(user)
    changes = field_diff(_audit_view(before), _audit_view(after))
    if changes:
        audit("update", "preferences", user.id, changes=changes)
        planning.refresh_user_deliveries(db.session, user, utcnow())
    return after
