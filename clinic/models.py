"""All models, imported here so metadata (and Alembic) sees every table.

Every module package's ``models.py`` is imported (a new module needs no line here); the names
below are re-exported for convenience."""

import importlib as _importlib
import importlib.util as _importlib_util
import pkgutil as _pkgutil

import clinic as _clinic
from clinic.accounts.models import ApiToken, AuditEntry, User, UserRole
from clinic.base import MAX_ID, Base, is_id, iso, utcnow
from clinic.events.models import EventChannel, OutboxEvent
from clinic.jobs.models import DeadLetter, Job, JobFile, JobStatus
from clinic.payments.models import (
    CashierShift,
    EffectKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaidEffect,
    Payment,
    PaymentMethod,
    Refund,
)
from clinic.payments.providers import (
    ClickTransaction,
    PaymeKey,
    PaymeTransaction,
    ProviderLogEntry,
    WebhookEvent,
)
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
    "ClickTransaction",
    "PaymeKey",
    "PaymeTransaction",
    "ProviderLogEntry",
    "WebhookEvent",
    "CashierShift",
    "EffectKind",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "PaidEffect",
    "Payment",
    "PaymentMethod",
    "Refund",
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

for _module in _pkgutil.iter_modules(_clinic.__path__):
    if _module.ispkg and _importlib_util.find_spec(f"clinic.{_module.name}.models"):
        _importlib.import_module(f"clinic.{_module.name}.models")
