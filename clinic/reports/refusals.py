"""Why the reports module refuses a report's or a subscription's parameters: one stable code
each, beside the English message the API and the logs show. The report page says a refusal
in its own language by its code, so rewording a message changes no page."""

from __future__ import annotations

from clinic import errors

UNKNOWN_REPORT = "unknown_report"
UNKNOWN_GROUPING = "unknown_grouping"
UNKNOWN_LANGUAGE = "unknown_language"
# A day not written YYYY-MM-DD (or not given): the first day of the period, the last.
START_FORMAT = "start_format"
END_FORMAT = "end_format"
DAY_OUT_OF_RANGE = "day_out_of_range"
PERIOD_REVERSED = "period_reversed"
PERIOD_TOO_LONG = "period_too_long"
# A period that starts after today, of a report whose figures are written as they happen.
PERIOD_IN_FUTURE = "period_in_future"
NOT_AN_ID = "not_an_id"
NOT_FILTERED = "not_filtered"
UNKNOWN_DEPARTMENT = "unknown_department"
UNKNOWN_DOCTOR = "unknown_doctor"
# A subscription's filter naming a department or doctor deactivated: it would mail a report of
# zeros every period (a report built now takes one, for the periods it worked).
INACTIVE_DEPARTMENT = "inactive_department"
INACTIVE_DOCTOR = "inactive_doctor"
UNKNOWN_FORMAT = "unknown_format"
UNKNOWN_FREQUENCY = "unknown_frequency"
EMAIL_FORMAT = "email_format"
PERIOD_NOT_TAKEN = "period_not_taken"
# The refusal's own code (``code``), not a field's.
OWN_FIGURES_ONLY = "own_figures_only"
ALREADY_SUBSCRIBED = "already_subscribed"

# Every reason the module gives: its parameters (params.py), files (building.py) and
# subscriptions (subscriptions.py).
CODES = frozenset(
    {
        UNKNOWN_REPORT,
        UNKNOWN_GROUPING,
        UNKNOWN_LANGUAGE,
        START_FORMAT,
        END_FORMAT,
        DAY_OUT_OF_RANGE,
        PERIOD_REVERSED,
        PERIOD_TOO_LONG,
        PERIOD_IN_FUTURE,
        NOT_AN_ID,
        NOT_FILTERED,
        UNKNOWN_DEPARTMENT,
        UNKNOWN_DOCTOR,
        INACTIVE_DEPARTMENT,
        INACTIVE_DOCTOR,
        UNKNOWN_FORMAT,
        UNKNOWN_FREQUENCY,
        EMAIL_FORMAT,
        PERIOD_NOT_TAKEN,
        OWN_FIGURES_ONLY,
        ALREADY_SUBSCRIBED,
    }
)

# A refusal for the codes above, each beside its English message.
refusal = errors.refusal
