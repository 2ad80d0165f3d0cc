"""A report e-mail the mail server accepted is sent, whatever happens as the connection
ends: a server that answers the closing QUIT with anything but 221 (or drops it, or is slow to
answer it) has the message already, and mailing it again would put the period's report in
the inbox twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from clinic.reports.models import DeliveryState
from tests.reports.fixtures import NEXT, local, make_day
from tests.reports.test_subscriptions import beat, deliveries, subscribe
from tests.visits.conftest import Mailbox, settings, smtp_port  # noqa: F401 - fixtures


class Grumpy(Mailbox):
    """Takes every message, then answers QUIT as no RFC 5321 server should."""

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        return "421 4.3.2 closing the connection"


@pytest.fixture
def grumpy(smtp_port):  # noqa: F811 - the fixture
    box = Grumpy()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


def test_a_report_the_server_took_is_sent_once_though_its_goodbye_failed(
    runtime, make_user, grumpy
):
    make_day(runtime, make_user)
    subscribe(runtime)
    morning = local(NEXT, 6)
    beat(runtime, morning)
    assert len(grumpy.wait_for(1)) == 1
    [delivery] = deliveries(runtime)
    assert delivery.state == DeliveryState.SENT, delivery.error
    # Hours later, past every retry's wait: nothing more is mailed.
    assert beat(runtime, morning + timedelta(hours=3)) == 0
    assert len(grumpy.messages) == 1  # each beat mails before it returns
