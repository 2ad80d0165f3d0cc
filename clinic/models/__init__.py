"""All models, imported here so metadata (and Alembic) sees every table."""

from .auth import ApiToken, AuditEntry, User, UserRole
from .base import MAX_ID, Base, is_id, iso, utcnow
from .events import EventChannel, OutboxEvent
from .jobs import DeadLetter, Job, JobFile, JobStatus
from .queue import Board, Priority, Queue, QueueDay, Ticket, TicketEvent, TicketSource, TicketStatus
from .reference import ClinicProfile, Department, Doctor, Patient, Room, Service

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
]
