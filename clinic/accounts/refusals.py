"""Why the accounts module refuses a field of a user, a password or a token: one stable code
each, beside the English message the API and the logs show. The pages say a refusal in their
own language by its code, so rewording a message changes no page."""

from __future__ import annotations

from clinic import errors
from clinic.accounts import passwords

USERNAME_FORMAT = "username_format"
USERNAME_TAKEN = "username_taken"
FULL_NAME_TOO_LONG = "full_name_too_long"
FULL_NAME_ONE_LINE = "full_name_one_line"
ROLES_REQUIRED = "roles_required"
UNKNOWN_ROLE = "unknown_role"
DOCTOR_REQUIRED = "doctor_required"
UNKNOWN_DOCTOR = "unknown_doctor"
DOCTOR_WITHOUT_ROLE = "doctor_without_role"
LAST_ADMINISTRATOR = "last_admin"
# Codes of reasons, not secrets.
WRONG_PASSWORD = "wrong_password"  # nosec B105
ACCOUNT_LOCKED = "account_locked"
TOKEN_NAME = "token_name"  # nosec B105
TOKEN_NAME_ONE_LINE = "token_name_one_line"  # nosec B105
TOKEN_DAYS = "token_days"  # nosec B105

# Every reason the module gives, a new password's (clinic/accounts/passwords.py) included.
CODES = frozenset(
    {
        USERNAME_FORMAT,
        USERNAME_TAKEN,
        FULL_NAME_TOO_LONG,
        FULL_NAME_ONE_LINE,
        ROLES_REQUIRED,
        UNKNOWN_ROLE,
        DOCTOR_REQUIRED,
        UNKNOWN_DOCTOR,
        DOCTOR_WITHOUT_ROLE,
        LAST_ADMINISTRATOR,
        WRONG_PASSWORD,
        ACCOUNT_LOCKED,
        TOKEN_NAME,
        TOKEN_NAME_ONE_LINE,
        TOKEN_DAYS,
        *passwords.POLICY,
    }
)

# A refusal for the codes above, each beside its English message.
refusal = errors.refusal
