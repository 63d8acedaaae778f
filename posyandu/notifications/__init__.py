"""Push notifications. Free of Flask and SQLAlchemy: the outbox worker calls into it."""
from .fcm import FcmSender, Push, PushResult, PushStatus

__all__ = ["FcmSender", "Push", "PushResult", "PushStatus"]
