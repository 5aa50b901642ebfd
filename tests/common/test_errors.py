"""Field errors from nested validation messages are flattened to dotted names."""

from services.common.errors import flatten_messages


def test_flatten_nested_and_listed_messages():
    messages = {
        "title": ["Missing data for required field."],
        "labels": {"0": ["Not a valid string."]},
        "_schema": ["Give either username or email."],
    }
    assert flatten_messages(messages) == {
        "title": ["Missing data for required field."],
        "labels.0": ["Not a valid string."],
        "_schema": ["Give either username or email."],
    }
