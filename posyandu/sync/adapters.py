"""What ``/sync/push`` needs of a synced entity (the adapter protocol), and the registry.

Each feature that syncs a record type (children, measurements, immunizations) writes a
``sync_adapter.ADAPTER`` against this module only; the app registers the adapters when it is
created (``posyandu.routes.SYNC_ADAPTERS``, ``create_app``), and ``sync.push`` looks them up on
the app. So ``sync`` never imports the features and the features never import ``sync.push``:
no import circle, and a new entity is one line in ``SYNC_ADAPTERS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app

_EXTENSION = "posyandu.sync_adapters"


@dataclass
class Adapter:
    create: Callable  # (scope, data) -> (row, created: bool, warnings: list)
    update: Callable  # (scope, id, data, base_version) -> (row, warnings)
    delete: Callable | None  # (scope, id, base_version) -> row
    same_content: Callable  # (scope, id, data) -> bool
    #: Optional set-based path for all of this entity's records of a batch:
    #: ``(scope, items) -> [result] | None``; ``items`` in the order to apply, each
    #: ``{"id", "op", "base_version", "data"}`` (``data`` prepared as for ``create``/``update``);
    #: one result per item, ``{"status", "version"?, "record"?, "warnings"?, "errors"?, "detail"?}``,
    #: exactly the receipt the per-record path would give. ``None``: apply them one by one.
    apply_batch: Callable | None = None


def register_adapters(app: Flask, adapters: dict[str, Adapter]) -> None:
    """Make ``adapters`` (entity name -> adapter) the entities this app's ``/sync/push`` accepts."""
    app.extensions[_EXTENSION] = dict(adapters)


def registered(app: Flask | None = None) -> dict[str, Adapter]:
    """The entities the app accepts, by name."""
    return (app or current_app).extensions.get(_EXTENSION, {})
