"""JSON objects that name a key twice.

JSON allows ``{"amount": 1, "amount": 2}`` and Python's parser keeps the last value without
a word, so a body read by one program as an amount of 1 is read here as 2. Every body the
clinic parses (the API's, Payme's, the webhooks') is read with :func:`unique_keys`, which
marks such an object, and refused by the reader in its own form, naming the key by its path.
"""

from __future__ import annotations


class _Repeated(dict):
    """An object in which ``repeated`` was given more than once (the last value kept)."""

    repeated = ""


def unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` for ``json.loads``: the object, marked when a key repeats."""
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    marked = _Repeated(document)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            marked.repeated = key
            break
        seen.add(key)
    return marked


def repeated_in(node) -> str | None:
    """The key given twice in this one object (parsed with :func:`unique_keys`), or None."""
    return node.repeated if isinstance(node, _Repeated) else None


def repeated_key(document) -> str | None:
    """The dotted path (``data.amount``, ``items.0.price``) of the first key given twice in
    a document parsed with :func:`unique_keys`, or None."""
    stack = [(document, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            repeated = repeated_in(node)
            if repeated is not None:
                return f"{path}.{repeated}" if path else repeated
            stack.extend((value, f"{path}.{key}" if path else key) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{path}.{i}" if path else str(i)) for i, value in enumerate(node))
    return None
