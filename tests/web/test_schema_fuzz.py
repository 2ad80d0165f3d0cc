"""The whole OpenAPI document, fuzzed by schemathesis as an administrator and as a registrar:
no 5xx, and every status, content type and body the server answers is the one documented.

Bounded for the suite: a few derandomized examples per operation, valid and invalid, each
sent by both callers (generating the examples costs more than sending them), and no
per-example deadline (the machine is shared). Operations that could end a caller's own
access (revoking tokens, changing users, signing out) run last, so they cannot hide the rest.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from clinic.demo import load_demo_data
from tests.conftest import ONE_BACKEND

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 2
LAST = ("/tokens", "/users", "/session")
ROLES = ("registrar", "admin")
# What is checked is the web layer against its document; the database rules behind it are
# tested on both backends elsewhere.
pytestmark = [pytest.mark.parametrize("backend", [ONE_BACKEND]), pytest.mark.heavy]


def _fuzz(operation, callers: dict[str, dict]) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )
    )
    def run(case):
        failed = []
        for role, headers in callers.items():
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            except (Exception, FailureGroup) as exc:  # the other caller is tried all the same
                failed.append(f"as {role}: {exc}")
        assert not failed, "\n".join(failed)

    run()


@pytest.fixture
def demo_clinic(runtime):
    """The demo clinic, loaded before the callers' users: it loads only into a database
    without departments, and a doctor's user comes with a department of his own."""
    with runtime.db.session() as session:
        assert load_demo_data(session)


def test_the_server_answers_as_its_openapi_document_says(app, runtime, demo_clinic, role_tokens):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (any(part in op.path for part in LAST), op.path, op.method))
    # The registrar first: an administrator's change (a deletion) would otherwise decide
    # what the registrar's request of the same example finds.
    callers = {role: {"Authorization": f"Bearer {role_tokens[role]}"} for role in ROLES}
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, callers)
        except (Exception, FailureGroup) as exc:  # every operation is tried; all reported
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
