"""Problem details: nested validation messages become one flat map of field to messages."""

from __future__ import annotations

from web.errors import flatten_messages, problem


def test_nested_messages_flatten_to_dotted_fields_without_the_location():
    messages = {
        "json": {
            "name": ["Missing data for required field."],
            "address": {"city": ["Too long."]},
            "items": [{"price": ["Not a valid integer."]}, ["Unknown field."]],
            "tags": {0: ["Not a valid string."]},
        }
    }
    assert flatten_messages(messages) == {
        "name": ["Missing data for required field."],
        "address.city": ["Too long."],
        "items.0.price": ["Not a valid integer."],
        "items.1": ["Unknown field."],
        "tags.0": ["Not a valid string."],
    }


def test_messages_that_name_no_field_are_the_schemas():
    assert flatten_messages(["Invalid input."]) == {"_schema": ["Invalid input."]}
    assert flatten_messages([["Nested."], 7]) == {"0": ["Nested."], "1": ["7"]}
    assert flatten_messages("Broken.") == {"_schema": ["Broken."]}


def test_a_problem_carries_only_the_parts_it_has(app):
    with app.test_request_context():
        bare = problem(404, "Not found")
        full = problem(409, "Conflict", "taken", errors={"code": ["taken"]}, code="taken")
    assert bare.status_code == 404 and bare.mimetype == "application/problem+json"
    assert bare.get_json() == {"type": "about:blank", "title": "Not found", "status": 404}
    assert full.get_json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "taken",
        "code": "taken",
        "errors": {"code": ["taken"]},
    }


def test_a_refused_fields_reasons_come_by_code_beside_its_messages(app):
    """``reasons`` is added beside ``errors``: a client that reads only ``errors`` sees the
    body it always saw; a page says each code in its own language."""
    from clinic.errors import ValidationFailed

    errors = {"end": ["The period ends before it starts."]}
    with app.test_request_context("/api/v1/reports", headers={"Accept": "application/json"}):
        shaped = problem(422, "Validation failed", "bad", errors, reasons={"end": ["reversed"]})
        refused = app.handle_user_exception(
            ValidationFailed("bad", errors=errors, reasons={"end": ["reversed"]})
        )
        unexplained = app.handle_user_exception(ValidationFailed("bad", errors=errors))
    assert shaped.get_json() == {
        "type": "about:blank",
        "title": "Validation failed",
        "status": 422,
        "detail": "bad",
        "errors": {"end": ["The period ends before it starts."]},
        "reasons": {"end": ["reversed"]},
    }
    assert refused.get_json() == shaped.get_json()
    assert "reasons" not in unexplained.get_json()
