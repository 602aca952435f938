"""The one place events become bytes and bytes become events (orjson + pydantic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from processors.errors import InvalidEventError
from schemas.events import ImportControl

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_control_adapter: TypeAdapter[Any] = TypeAdapter(ImportControl)


def dumps(obj: Any) -> bytes:
    """Serialise plain data (dicts, lists, datetimes) to JSON bytes."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InvalidEventError("undecodable", str(e)) from e


def encode(event: BaseModel) -> bytes:
    """Serialise an event model; ``None`` fields are kept so the payload is self-describing."""
    return orjson.dumps(event.model_dump(mode="python"))


def decode(model: type[M], data: bytes | None) -> M:
    """Parse and validate one event; any failure is an :class:`InvalidEventError`."""
    return _validated(model.model_validate_json, data)


def decode_control(data: bytes | None) -> Any:
    """Parse one ``lead_import_control`` event into its lifecycle model."""
    return _validated(_control_adapter.validate_json, data)


def _validated(validate: Callable[[bytes], T], data: bytes | None) -> T:
    if data is None:
        raise InvalidEventError("empty", "record has no value")
    try:
        return validate(data)
    except ValidationError as e:
        reason = "undecodable" if _is_json_error(e) else "schema_invalid"
        raise InvalidEventError(reason, _short(e)) from e


def _is_json_error(e: ValidationError) -> bool:
    return any(err.get("type") == "json_invalid" for err in e.errors())


def _short(e: ValidationError, limit: int = 500) -> str:
    parts = [f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}" for err in e.errors()]
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
