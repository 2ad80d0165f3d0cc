"""The queue's field limits, defined once: the services enforce them and the web's schemas
read them from here, so a form, the API and the domain agree on what fits."""

from __future__ import annotations

QUEUE_CODE_MAX = 32
PREFIX_MAX = 3
START_NUMBER_MAX = 9000
ONLINE_DAILY_LIMIT_MAX = 10_000
SERVICE_MINUTES_MAX = 480
CLOSE_ACTIONS = ("no_show", "cancel")

COMMENT_MAX = 1000
CANCEL_REASON_MAX = 500
PHONE_MIN, PHONE_MAX = 5, 25

BOARD_NAME_MAX = 100
BOARD_QUEUES_MAX = 40
VOICE_LANGUAGES = ("ru", "uz", "en")
