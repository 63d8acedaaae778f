"""HTTP routes for parents' devices and notification preferences (thin).

Paths (under ``/api/v1``):

* ``POST   /devices``             register or re-register this phone's FCM token / FID (parents)
* ``GET    /devices``             the caller's active devices
* ``PUT    /devices/{id}``        the token rotated: the old one is retired as ``replaced``
* ``DELETE /devices/{id}``        sign-out on that phone
* ``GET    /me/preferences``      language and quiet hours of push messages
* ``PATCH  /me/preferences``      change them

Devices are parents' only: staff get 403; another parent's device id is 404.
"""
from __future__ import annotations

from ..blueprint import Blueprint

from ..auth.scope import load_current_user, roles_required
from . import operations as ops
from .schemas import (DeviceCreateSchema, DeviceListSchema, DeviceRefreshSchema, DeviceSchema, PreferencesSchema,
                      PreferencesUpdateSchema)

blp = Blueprint("devices", __name__, url_prefix=None,
                description="Parents' phones for push reminders, and their notification preferences.")


@blp.route("/devices", methods=["POST"])
@roles_required("parent")
@blp.arguments(DeviceCreateSchema)
@blp.response(201, DeviceSchema)
@blp.alt_response(200, schema=DeviceSchema, description="The token was known: last_seen updated (and brought "
                                                        "back if it had been retired); nothing new stored.")
def register_device(data):
    """Register this phone for push reminders

    Send the FCM registration token (``kind: fcm_token``) or the Firebase Installation ID
    (``kind: fid``) after sign-in and whenever the app starts. Registering the same token again
    answers 200 and updates ``last_seen_at``. The phone then receives the reminders already
    planned for the parent's children. Parents only (staff: 403).
    """
    device, created = ops.register_device(load_current_user(), data)
    return device, (201 if created else 200)


@blp.route("/devices", methods=["GET"])
@roles_required("parent")
@blp.response(200, DeviceListSchema)
def list_devices():
    """List my devices

    The caller's active (not retired) devices; the token is shown only by its last 8 characters.
    """
    return {"items": ops.list_devices(load_current_user())}


@blp.route("/devices/<int:device_id>", methods=["PUT"])
@roles_required("parent")
@blp.arguments(DeviceRefreshSchema)
@blp.response(200, DeviceSchema)
def refresh_device(data, device_id):
    """Replace a rotated token

    The old device row is retired (``replaced``) and its unsent pushes cancelled; the answer is
    the device of the new token (a new id), which receives the pending reminders. Retrying with
    the same new token answers the same device. Another parent's device: 404.
    """
    return ops.refresh_device(load_current_user(), device_id, data)


@blp.route("/devices/<int:device_id>", methods=["DELETE"])
@roles_required("parent")
@blp.response(204)
def delete_device(device_id):
    """Sign out on a device

    No more pushes to it; its unsent pushes are cancelled. Deleting again is a no-op. Another
    parent's device: 404.
    """
    ops.retire_device(load_current_user(), device_id)
    return None


@blp.route("/me/preferences", methods=["GET"])
@roles_required()
@blp.response(200, PreferencesSchema)
def get_preferences():
    """My notification preferences

    ``language`` of push texts ('id' or 'en'), and optional quiet hours (``quiet_start`` –
    ``quiet_end``, local time of the child's posyandu; may wrap midnight). Pushes are never sent
    20:00–06:00 local whatever the quiet hours.
    """
    return ops.preferences(load_current_user())


@blp.route("/me/preferences", methods=["PATCH"])
@roles_required()
@blp.arguments(PreferencesUpdateSchema)
@blp.response(200, PreferencesSchema)
def update_preferences(data):
    """Change my notification preferences

    Send only what changes; ``quiet_start`` and ``quiet_end`` go together (both null removes
    the quiet hours). Pushes not tried yet are re-rendered and re-timed at once.
    """
    return ops.update_preferences(load_current_user(), data)
