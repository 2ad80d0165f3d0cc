"""The bench smoke tests start whole servers: one backend is enough to show they work."""

from __future__ import annotations

import pytest

from tests.conftest import ONE_BACKEND


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    return request.param
