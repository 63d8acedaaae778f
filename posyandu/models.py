"""Import every feature's models so the metadata (and alembic) sees all tables."""
from .regions.models import Region, Puskesmas, PuskesmasDesa, Posyandu  # noqa: F401
from .auth.models import User, UserPosyandu, RefreshToken  # noqa: F401
from .children.models import Child, ChildGuardian, ChildTransfer  # noqa: F401
from .measurements.models import Measurement  # noqa: F401
from .sync.models import SyncCounter, ChangeLog  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401
from .devices.models import Device  # noqa: F401
from .reminders.models import Reminder, ReminderDelivery, QueueState  # noqa: F401
from .immunizations.models import Immunization, ImmunizationRegionSetting  # noqa: F401
from .calendar.models import CalendarException  # noqa: F401
from .sync import changes  # noqa: F401  (registers the commit-time sequence hook)
from .fhir.models import FhirSubmission  # noqa: F401
from .apiclients.models import ApiClient  # noqa: F401
from .feeds.models import CommandCentreFeed  # noqa: F401
from .reports.models import ReportChildMonth  # noqa: F401
