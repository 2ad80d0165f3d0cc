"""The one mail transport of receipts, visit notices and report e-mails, against a real SMTP
server (aiosmtpd): implicit TLS (port 465, as Yandex and Mail.ru serve it) and recipients
whose domain is not ASCII, delivered to its IDNA form by a server without SMTPUTF8."""

from __future__ import annotations

import dataclasses
import shutil
import ssl
import subprocess  # nosec B404 - openssl makes the test's own certificate
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from clinic.payments.receipts import send_mail
from clinic.reports.mailing import SmtpMailer
from clinic.settings import ConfigError, Settings
from clinic.visits.notify import EmailNotifier
from tests.clinic.test_settings_edges import prod_env
from tests.conftest import free_port


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list = []
        self.logins: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)


@pytest.fixture
def tls_context(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(  # nosec B603 B607
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.certificate = cert  # the server's own: the CA file a clinic would name
    return context


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings of a development instance: no database is needed to send mail."""
    return Settings.from_env({"CLINIC_INSTANCE": str(tmp_path)})


def _serve(request, box, **kwargs) -> int:
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    request.addfinalizer(controller.stop)
    return controller.port


def _message(settings: Settings, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = "Чек / Chek"
    message.set_content("Оплачено / To'langan")
    return message


def _senders(settings: Settings):
    """Each sender of the clinic's e-mail, given one address."""
    return {
        "receipt": lambda to: send_mail(settings, _message(settings, to)),
        "visit notice": lambda to: EmailNotifier(settings).send(to, "Запись", "Завтра в 9:00"),
        "report": lambda to: SmtpMailer(settings).send(_message(settings, to)),
    }


@pytest.mark.parametrize("sender", ["receipt", "visit notice", "report"])
def test_mail_goes_over_implicit_tls_with_the_login(request, settings, tls_context, sender):
    box = Mailbox()
    port = _serve(
        request,
        box,
        ssl_context=tls_context,
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    settings = dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_ssl=True,
        smtp_cafile=str(tls_context.certificate),
        smtp_user="clinic@example.uz",
        smtp_password="mailbox-secret",
        smtp_timeout=5,
    )
    _senders(settings)[sender]("patient@example.uz")
    assert [e.rcpt_tos for e in box.envelopes] == [["patient@example.uz"]]
    assert box.logins == [(b"clinic@example.uz", b"mailbox-secret")]


def test_a_server_whose_certificate_is_not_trusted_is_not_given_the_password(
    request, settings, tls_context
):
    """Without the server's CA named (CLINIC_SMTP_CAFILE), its self-made certificate is not
    taken: the connection fails before the login, and the password is never sent."""
    box = Mailbox()
    port = _serve(
        request, box, ssl_context=tls_context, authenticator=box.authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    settings = dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_ssl=True,
        smtp_user="clinic@example.uz", smtp_password="mailbox-secret", smtp_timeout=5,
    )  # fmt: skip
    with pytest.raises(ssl.SSLCertVerificationError):
        send_mail(settings, _message(settings, "patient@example.uz"))
    assert box.envelopes == [] and box.logins == []


@pytest.mark.parametrize("sender", ["receipt", "visit notice", "report"])
def test_a_non_ascii_domain_is_sent_to_its_idna_form(request, settings, sender):
    box = Mailbox()
    settings = dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=_serve(request, box, enable_SMTPUTF8=False),
        smtp_timeout=5,
    )
    _senders(settings)[sender]("boss@клиника.uz")
    (envelope,) = box.envelopes
    assert envelope.rcpt_tos == ["boss@xn--80apagcdp.uz"]
    assert b"boss@xn--80apagcdp.uz" in envelope.original_content


def test_production_counts_implicit_tls_as_encrypted(tmp_path):
    mail = {
        "CLINIC_SMTP_HOST": "smtp.yandex.ru",
        "CLINIC_SMTP_PORT": "465",
        "CLINIC_SMTP_USER": "clinic@yandex.ru",
        "CLINIC_SMTP_PASSWORD": "mailbox-secret",
    }
    assert Settings.from_env(prod_env(tmp_path, **mail, CLINIC_SMTP_SSL="true")).smtp_ssl
    with pytest.raises(ConfigError, match="CLINIC_SMTP_SSL"):
        Settings.from_env(prod_env(tmp_path, **mail, CLINIC_SMTP_SSL="ture"))
    with pytest.raises(ConfigError, match="CLINIC_SMTP_STARTTLS or CLINIC_SMTP_SSL"):
        Settings.from_env(prod_env(tmp_path, **mail, CLINIC_SMTP_SSL="off"))
