"""Errors the domain raises; the web layer turns them into problem details."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: dict | None = None,
        code: str | None = None,
        reasons: dict | None = None,
        values: dict | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}
        # A stable machine-readable reason ("window_closed"), for clients that branch on it.
        self.code = code
        # Each field's reasons as stable codes, in the order of its messages in ``errors``
        # ({"username": ["username_taken"]}): a page says them in its own language, whatever
        # words the English messages use.
        self.reasons = reasons or {}
        # What the refusal's words quote, by name ({"holder_code": "K-001"}): a page says the
        # refusal in its own language with them.
        self.values = values or {}


def refusal(
    error: type[DomainError],
    detail: str,
    reasons: dict[str, list[tuple[str, str]]],
    *,
    code: str | None = None,
) -> DomainError:
    """``error`` refusing each field of ``reasons`` for the reasons it lists, each as its
    stable code and its English message: ``{"end": [("period_reversed", "The period ...")]}``
    gives ``errors`` the messages and ``reasons`` the codes, in the same order."""
    return error(
        detail,
        errors={field: [message for _, message in listed] for field, listed in reasons.items()},
        reasons={field: [reason for reason, _ in listed] for field, listed in reasons.items()},
        code=code,
    )


class NotFound(DomainError):
    status = 404
    title = "Not found"


class ValidationFailed(DomainError):
    """Input that breaks a rule; ``errors`` maps each field to its messages."""

    status = 422
    title = "Validation failed"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    """The actor may not do this to this object (a doctor and another department's queue)."""

    status = 403
    title = "Forbidden"
