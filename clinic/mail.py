"""The clinic's one way out for e-mail (receipts, visit notices and reminders, report
e-mails): the configured SMTP server (``CLINIC_SMTP_*``).

The connection is encrypted as the server expects: STARTTLS on a plain connection (port
587 or 25) or implicit TLS from the first byte (port 465, as Yandex and Mail.ru serve it);
the mailbox is logged into when a user is set.

An address whose domain is not ASCII (``boss@клиника.uz``) is sent to the domain's IDNA
form (``boss@xn--80apagcdp.uz``): the same mailbox, which a server without SMTPUTF8 takes
too. Only a mailbox name that is not ASCII still needs SMTPUTF8.
"""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinic.settings import Settings


ADDRESS_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc")


def ascii_domain(domain: str) -> str:
    """The domain as DNS and a server without SMTPUTF8 know it (IDNA), or as it is when it
    is ASCII already or no IDNA form exists (the server then says what it makes of it)."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def _ascii_domains(message: EmailMessage) -> None:
    """Rewrite the message's addresses with a non-ASCII domain to the domain's IDNA form;
    smtplib takes the envelope's sender and recipients from these headers."""
    for name in ADDRESS_HEADERS:
        headers = message.get_all(name) or []
        addresses = [a for header in headers for a in getattr(header, "addresses", ())]
        if all(a.domain.isascii() for a in addresses):
            continue
        del message[name]
        message[name] = [
            Address(a.display_name, a.username, ascii_domain(a.domain)) for a in addresses
        ]


def tls_context(settings: Settings) -> ssl.SSLContext:
    """What an encrypted connection trusts: the server's certificate must be valid for its
    host name and signed by a CA of the system's store, or of ``CLINIC_SMTP_CAFILE`` (a
    clinic's own mail server with a certificate of its own). Unchecked, anyone on the way
    could pose as the server and read the mailbox's password."""
    return ssl.create_default_context(cafile=settings.smtp_cafile or None)


def connect(settings: Settings) -> smtplib.SMTP:
    """A connection to the configured server, encrypted and logged in as configured."""
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    if settings.smtp_ssl:
        context = tls_context(settings)
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=tls_context(settings))
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def send(settings: Settings, message: EmailMessage) -> None:
    """Send one message; raises OSError or SMTPException on failure (the caller retries).

    Once the server has accepted the message it is sent: a goodbye that fails after it (QUIT
    answered with anything but 221, the connection dropped or timing out as it closes) is no
    failure, or the caller would send the same message again."""
    _ascii_domains(message)
    smtp = connect(settings)
    try:
        smtp.send_message(message)
    except BaseException:
        smtp.close()
        raise
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        smtp.close()


def failure_text(exc: BaseException) -> str:
    """What went wrong, as the server said it: ``nobody@x.uz: 550 5.1.1 user unknown`` for a
    recipient refused, else the error's kind and words (at most 500 characters)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        address, (code, text) = next(iter(exc.recipients.items()))
        said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{address}: {code} {said}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def refused_for_good(exc: BaseException) -> str | None:
    """Why the server will never take this message for its recipient, or None when another
    try may pass: every recipient refused with a permanent (5xx) reply, ``550 5.1.1 user
    unknown``, an address no mailbox has. A 4xx refusal (greylisting, a full mailbox), a
    server away or this clinic's own sender refused are not the recipient's: they are tried
    again (the last is the operator's to mend, and the messages must wait for it)."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return None
    if not all(code >= 500 for code, _text in exc.recipients.values()):
        return None
    return failure_text(exc)
