"""All models, imported here so metadata (and Alembic) sees every table."""

from clinic.accounts.models import ApiToken, AuditEntry, User, UserRole
from clinic.base import MAX_ID, Base, is_id, iso, utcnow
from clinic.events.models import EventChannel, OutboxEvent
from clinic.jobs.models import DeadLetter, Job, JobFile, JobStatus
from clinic.queue.models import (
    Board,
    Priority,
    Queue,
    QueueDay,
    Ticket,
    TicketEvent,
    TicketSource,
    TicketStatus,
)
from clinic.reference.models import ClinicProfile, Department, Doctor, Patient, Room, Service
from clinic.visits.models import (
    DoctorService,
    ScheduleException,
    Visit,
    VisitEvent,
    VisitMove,
    VisitNotice,
    VisitService,
    WorkingHours,
)

__all__ = [
    "Board",
    "Priority",
    "Queue",
    "QueueDay",
    "Ticket",
    "TicketEvent",
    "TicketSource",
    "TicketStatus",
    "ApiToken",
    "AuditEntry",
    "User",
    "UserRole",
    "Base",
    "MAX_ID",
    "is_id",
    "iso",
    "ClinicProfile",
    "DeadLetter",
    "Department",
    "Doctor",
    "EventChannel",
    "Job",
    "JobFile",
    "JobStatus",
    "OutboxEvent",
    "Patient",
    "Room",
    "Service",
    "utcnow",
    "DoctorService",
    "ScheduleException",
    "Visit",
    "VisitEvent",
    "VisitMove",
    "VisitNotice",
    "VisitService",
    "WorkingHours",
]
