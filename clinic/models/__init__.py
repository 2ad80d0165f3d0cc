"""All models, imported here so metadata (and Alembic) sees every table."""

from .base import Base, utcnow
from .events import EventChannel, OutboxEvent
from .jobs import DeadLetter, Job, JobFile, JobStatus
from .reference import ClinicProfile, Department, Doctor, Patient, Room, Service

__all__ = [
    "Base",
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
