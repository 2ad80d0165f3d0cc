"""The visits module's constants in one place: statuses, kinds, conflict codes, events."""

from __future__ import annotations

from clinic.events.catalogue import EventType, NoneType, declare


class VisitStatus:
    SCHEDULED = "scheduled"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"

    ALL = (SCHEDULED, ARRIVED, IN_PROGRESS, COMPLETED, CANCELLED, NO_SHOW)
    # Visits that hold their time: the exclusion constraints ignore the others.
    HOLDING = (SCHEDULED, ARRIVED, IN_PROGRESS, COMPLETED)
    FINAL = (COMPLETED, CANCELLED, NO_SHOW)
    MOVABLE = (SCHEDULED, ARRIVED)
    # Allowed transitions (status -> the statuses it may go to).
    NEXT = {
        SCHEDULED: (ARRIVED, CANCELLED, NO_SHOW),
        ARRIVED: (IN_PROGRESS, CANCELLED, NO_SHOW),
        IN_PROGRESS: (COMPLETED,),
    }


class VisitKind:
    SCHEDULED = "scheduled"
    WALK_IN = "walk_in"
    FOLLOW_UP = "follow_up"

    ALL = (SCHEDULED, WALK_IN, FOLLOW_UP)


class CancelledBy:
    PATIENT = "patient"
    CLINIC = "clinic"

    ALL = (PATIENT, CLINIC)


class ExceptionKind:
    DAY_OFF = "day_off"
    LEAVE = "leave"
    SICK = "sick"
    HOLIDAY = "holiday"  # the whole clinic: no doctor

    ALL = (DAY_OFF, LEAVE, SICK, HOLIDAY)


class Conflicts:
    """Why a booking or a move was refused; the form shows each next to its field."""

    DOCTOR_BUSY = "doctor_busy"
    PATIENT_BUSY = "patient_busy"
    OUTSIDE_HOURS = "outside_hours"
    DOCTOR_AWAY = "doctor_away"
    IN_PAST = "in_past"
    SERVICE_NOT_OFFERED = "service_not_offered"
    NOT_MOVABLE = "not_movable"
    TOO_MANY_MOVES = "too_many_moves"
    # Another doctor's patient is booked into the room at that time (a room two doctors'
    # weeks share holds one doctor's patients at a time).
    ROOM_TAKEN = "room_taken"
    # The doctor's department is switched off (or was switched off while this waited).
    DEPARTMENT_INACTIVE = "department_inactive"
    # The patient's record is deactivated (since he was found): booking and check-in refuse
    # him; a move keeps the visit he has.
    PATIENT_INACTIVE = "patient_inactive"
    # A doctor who has left (or left before a move's worker carried it out).
    DOCTOR_INACTIVE = "doctor_inactive"

    ALL = (
        DOCTOR_BUSY,
        PATIENT_BUSY,
        OUTSIDE_HOURS,
        DOCTOR_AWAY,
        IN_PAST,
        SERVICE_NOT_OFFERED,
        NOT_MOVABLE,
        TOO_MANY_MOVES,
        ROOM_TAKEN,
        DEPARTMENT_INACTIVE,
        PATIENT_INACTIVE,
        DOCTOR_INACTIVE,
    )


class MoveStatus:
    PENDING = "pending"
    DONE = "done"
    REFUSED = "refused"


class NoticeKind:
    RESCHEDULED = "rescheduled"
    REMINDER = "reminder"
    CANCELLED = "cancelled"


VISIT_BOOKED = "visit.booked"
VISIT_CHANGED = "visit.changed"
VISIT_RESCHEDULED = "visit.rescheduled"
VISIT_CANCELLED = "visit.cancelled"

RESCHEDULE_TASK = "visits.reschedule"
SEND_NOTICE_TASK = "visits.send_notice"
RESCHEDULE_JOB = "visits.reschedule"


# What a calendar channel (``visits_doctor:<id>``, ``visits_department:<id>``: staff only)
# carries: the slot and its state, the patient by id only (clinic.visits.visits.calendar_view).
OPT_INT = (int, NoneType)
CALENDAR_VISIT = {
    "id": int,
    "doctor_id": int,
    "department_id": int,
    "room_id": OPT_INT,
    "patient_id": int,
    "starts_at": str,
    "ends_at": str,
    "seat": int,
    "kind": str,
    "status": str,
}
CALENDARS = ("visits_doctor", "visits_department")
SCHEDULE_CHANGED = "schedule.changed"
OPT_STR = (str, NoneType)
SCHEDULE = {
    "doctor_id": OPT_INT,
    "department_id": OPT_INT,
    "what": str,
    "first_day": OPT_STR,
    "last_day": OPT_STR,
}
declare(
    EventType(VISIT_BOOKED, {kind: CALENDAR_VISIT for kind in CALENDARS}),
    EventType(VISIT_CHANGED, {kind: {**CALENDAR_VISIT, "action": str} for kind in CALENDARS}),
    EventType(VISIT_CANCELLED, {kind: {**CALENDAR_VISIT, "action": str} for kind in CALENDARS}),
    # A doctor's week, one date's hours or his days away changed (``what``: week, hours,
    # away), or the clinic's holidays (holiday, on every calendar): his free slots are not
    # what a calendar drew; the days concerned, when they are some days only.
    EventType(SCHEDULE_CHANGED, {kind: SCHEDULE for kind in CALENDARS}),
    EventType(
        VISIT_RESCHEDULED,
        {
            kind: {**CALENDAR_VISIT, "from_starts_at": str, "from_doctor_id": int}
            for kind in CALENDARS
        },
    ),
)
