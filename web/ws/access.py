"""Who may read which channel. Each kind of channel declares a rule; unknown kinds are closed.

A rule takes the connection's identity (``None`` when anonymous) and the channel name, and
answers yes or no. A refused subscription closes the socket with 1008 (policy violation).
"""

from __future__ import annotations

from typing import Callable

from clinic.channels import channel_kind
from clinic.events import valid_channel

Rule = Callable[[object, str], bool]
_rules: dict[str, Rule] = {}


def channel_rule(kind: str):
    def register(rule: Rule) -> Rule:
        _rules[kind] = rule
        return rule

    return register


def may_read(identity, channel: str) -> bool:
    if not valid_channel(channel):
        return False
    rule = _rules.get(channel_kind(channel))
    return bool(rule and rule(identity, channel))


@channel_rule("job")
def _job(identity, channel: str) -> bool:
    # A job id is 128 random bits, handed only to whoever started the job.
    return True


@channel_rule("reference")
def _reference(identity, channel: str) -> bool:
    # reference:departments, reference:services, ...: open while there is no sign-in.
    # reference:patients carries personal data and is to be tied to patients.read.
    return True


def authenticate(request):
    """The identity behind a WebSocket handshake; anonymous (None) until sign-in exists."""
    return None
