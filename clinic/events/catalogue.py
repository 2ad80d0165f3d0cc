"""The catalogue of event types: every event's name and the shape of its data on each kind
of channel it goes to.

Each module declares its own types in its own package, in ``clinic/<module>/events.py``,
with :func:`declare`; the file is found by :func:`load_all` (and imported by the module's
services, which take the names from it), so adding a module's events is that one file.

The shapes decide what each audience receives: a channel kind declared public with
:func:`declare_public_channels` (a display board, a patient's own ticket) may carry no
field that identifies a person (:data:`PERSONAL_FIELDS`), and a declaration that tries is
refused at import. Services build an audience's data with :meth:`EventType.data_for`, which
keeps exactly the fields that audience's shape names.

With checking on (the test suite turns it on), :func:`clinic.events.record_event` checks
every event against its declaration: an unknown name or a payload of another shape raises.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from typing import Mapping

NoneType = type(None)
ANY_KIND = "*"

# Fields that say who a patient or a member of staff is: never on a public channel.
PERSONAL_FIELDS = frozenset(
    {
        "phone",
        "email",
        "full_name",
        "patient_id",
        "comment",
        "document_number",
        "birth_date",
        "notes",
    }
)

Shape = Mapping[str, "type | tuple[type, ...]"]


class EventMismatch(ValueError):
    """An event that is not in the catalogue, or whose data is not of its declared shape."""


def channel_kind(channel: str) -> str:
    return channel.split(":", 1)[0]


@dataclass(frozen=True)
class EventType:
    """An event ``name`` and, per channel kind, the fields of its data and their types
    (a type, or a tuple of types; ``None`` as a shape accepts any object)."""

    name: str
    shapes: Mapping[str, Shape | None] = field(default_factory=dict)

    def shape_on(self, channel: str) -> Shape | None:
        kind = channel_kind(channel)
        if kind in self.shapes:
            return self.shapes[kind]
        if ANY_KIND in self.shapes:
            return self.shapes[ANY_KIND]
        raise EventMismatch(f"{self.name} is not declared for {kind}: channels")

    def data_for(self, channel: str, data: Mapping) -> dict:
        """The fields of ``data`` that the audience of ``channel`` receives, and only those."""
        shape = self.shape_on(channel)
        return dict(data) if shape is None else {name: data[name] for name in shape}

    def check(self, channel: str, data) -> None:
        shape = self.shape_on(channel)
        if not isinstance(data, dict):
            raise EventMismatch(f"{self.name}: the data is not an object")
        if shape is None:
            return
        missing, extra = set(shape) - set(data), set(data) - set(shape)
        if missing or extra:
            raise EventMismatch(
                f"{self.name} on {channel}: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        for name, types in shape.items():
            if not _is(data[name], types):
                raise EventMismatch(
                    f"{self.name} on {channel}: {name}={data[name]!r} is not {types}"
                )


def _is(value, types) -> bool:
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool):  # a bool is an int to Python, never to the catalogue
        return bool in types
    return isinstance(value, types)


_types: dict[str, EventType] = {}
_public_kinds: set[str] = set()
_checking = False


def declare_public_channels(*kinds: str) -> None:
    """Channel kinds that people outside the staff read: their data never names anyone."""
    _public_kinds.update(kinds)
    for event in _types.values():
        _refuse_personal_fields(event)


def _refuse_personal_fields(event: EventType) -> None:
    for kind, shape in event.shapes.items():
        public = kind in _public_kinds or kind == ANY_KIND and _public_kinds
        if public and (shape is None or PERSONAL_FIELDS & set(shape)):
            leaked = sorted(PERSONAL_FIELDS & set(shape)) if shape else "any field"
            raise ValueError(f"{event.name} would send {leaked} to the public {kind}: channels")


def declare(*events: EventType) -> None:
    """Add event types to the catalogue (a module's events file calls this at import)."""
    for event in events:
        known = _types.get(event.name)
        if known is not None and known != event:
            raise ValueError(f"event {event.name} is declared twice, differently")
        _refuse_personal_fields(event)
        _types[event.name] = event


def load_all() -> None:
    """Import the events file of every module package (``clinic/<module>/events.py``)."""
    import clinic

    for module in pkgutil.iter_modules(clinic.__path__):
        name = f"clinic.{module.name}.events"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def event_type(name: str) -> EventType:
    """The declared type named ``name``; :class:`EventMismatch` for a name nobody declared."""
    if name not in _types:
        load_all()
    if name not in _types:
        raise EventMismatch(f"unknown event type {name!r}: declare it in its module's events.py")
    return _types[name]


def all_types() -> list[EventType]:
    load_all()
    return sorted(_types.values(), key=lambda event: event.name)


def public_kinds() -> frozenset[str]:
    load_all()
    return frozenset(_public_kinds)


def check(channel: str, name: str, data) -> None:
    event_type(name).check(channel, data)


def check_recorded_events(on: bool = True) -> None:
    """Check every recorded event against the catalogue from now on (the tests do)."""
    global _checking
    _checking = on


def checking() -> bool:
    return _checking
