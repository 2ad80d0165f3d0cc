"""The one catalogue of permissions and the roles that hold them.

A permission names an action on a kind of thing (``queue.call``); a role is a set of
permissions; a user holds one or more roles. Object rules (a doctor acts only on his own
queues) are checked by the services on top of these.
"""

from __future__ import annotations

from dataclasses import dataclass

PERMISSIONS: dict[str, str] = {
    "reference.read": "Read departments, rooms, doctors, services and the clinic profile",
    "reference.edit": "Change reference data",
    "reference.import": "Import the price list",
    "patients.read": "Find and read patients",
    "patients.edit": "Register and change patients",
    "jobs.read": "Follow background jobs",
    "queue.read": "See the live queues",
    "queue.issue": "Issue queue tickets",
    "queue.call": "Call, serve, postpone and transfer tickets",
    "queue.manage": "Configure queues",
    "queue.kiosk": "Issue plain tickets at the self-service kiosk and print them",
    "board.view": "Show a display board",
    "visits.read": "See the schedule and visits",
    "visits.book": "Book visits",
    "visits.reschedule": "Reschedule and cancel visits",
    "payments.read": "See invoices and payments",
    "payments.take": "Take payments at the desk",
    "payments.discount": "Give a discount on an invoice, with its reason",
    "payments.refund": "Refund payments",
    "payments.refund_large": "Refund above the configured limit",
    "reports.read": "Build and read reports",
    "printing.use": "Follow, retry and reprint print jobs and print their PDFs",
    "printing.manage": "Manage printers and what they print for",
    "reports.own": "Build reports of one's own figures (every report for a holder of reports.read)",
    "users.manage": "Manage users, roles and locks",
    "tokens.manage": "List and revoke every user's API tokens",
    "audit.read": "Read the audit log",
}

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "registrar": frozenset(
        {
            "reference.read",
            "patients.read",
            "patients.edit",
            "jobs.read",
            "queue.read",
            "queue.issue",
            "queue.kiosk",
            "visits.read",
            "visits.book",
            "visits.reschedule",
            "printing.use",
        }
    ),
    "cashier": frozenset(
        {
            "reference.read",
            "patients.read",
            "jobs.read",
            "payments.read",
            "payments.take",
            "payments.refund",
            "printing.use",
        }
    ),
    "doctor": frozenset(
        {
            "reference.read",
            "patients.read",
            "queue.read",
            "queue.call",
            "visits.read",
            "reports.own",
            "jobs.read",
        }
    ),
    "manager": frozenset(
        {
            "reference.read",
            "jobs.read",
            "queue.read",
            "visits.read",
            "payments.read",
            "payments.discount",
            "payments.refund",
            "payments.refund_large",
            "reports.read",
            "reports.own",
            "audit.read",
        }
    ),
    "display": frozenset({"board.view"}),
    # A kiosk stands in the hall with its session open to whoever walks up: it issues plain
    # tickets and prints them, and finds no patient and reads no queue's list.
    "kiosk": frozenset({"queue.kiosk"}),
}


def stands_open(roles) -> bool:
    """Whether an account of ``roles`` is a kiosk's alone, whose session stands open in the
    hall to whoever walks up (its session outlasts the staff's idle limit; it makes no API
    tokens, which would issue tickets from anywhere for up to a year)."""
    return tuple(roles) == ("kiosk",)


@dataclass(frozen=True)
class Staff:
    """Who acts, as the domain's rules see him: what his roles allow and the doctor he is
    (None for a user who is not a doctor). Every door (API, pages, WebSocket) hands the
    domain this value, so a rule asked through any of them gives one answer."""

    permissions: frozenset[str]
    doctor_id: int | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def permissions_of(roles) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLES.get(role, frozenset())
    return frozenset(granted)


def roles_with(permission: str) -> list[str]:
    return sorted(role for role, perms in ROLES.items() if permission in perms)


def permission_to_refund(amount: int, large_from: int) -> str:
    """The permission a refund of ``amount`` tiyin needs: above the clinic's limit
    (``CLINIC_REFUND_APPROVAL_FROM``) only a manager or an administrator may refund."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("a refund is a positive whole number of tiyin")
    return "payments.refund_large" if amount > large_from else "payments.refund"
