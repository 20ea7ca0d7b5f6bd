"""Base classes for the platforms' wire models, and the one door into them.

A *read* wire model mirrors what a platform returns. It declares the fields ordersync uses, with
lenient types from :mod:`connectors.parsing`, and keeps every other field verbatim in
``model_extra`` (``extra="allow"``), so nothing the platform sends is dropped.

A *write* wire model mirrors a request body. It forbids unknown fields (``extra="forbid"``) so a
typo never reaches a platform, and :meth:`WriteModel.body` drops unset optional fields, because
platforms such as BigCommerce answer 400 to read-only or null fields.

:func:`parse_wire` is the only way raw JSON enters a wire model: it turns pydantic's
``ValidationError`` into :class:`~connectors.errors.InvalidPayload` naming the field path.

:func:`plain_reader` is the hot-path variant for the mappings: the same validation (generated from
the read model), into plain dicts instead of model instances; on invalid input the caller falls
back to :func:`parse_wire`, so errors stay exactly the model's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined
from typing_extensions import TypedDict

from connectors.errors import InvalidPayload

__all__ = [
    "ReadModel",
    "WriteModel",
    "construct",
    "format_location",
    "invalid_payload_from",
    "parse_wire",
    "plain_reader",
    "plain_twin",
    "to_plain",
]

M = TypeVar("M", bound=BaseModel)


class ReadModel(BaseModel):
    """A platform's JSON as read. Unknown fields are kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class WriteModel(BaseModel):
    """A request body for a platform. Unknown fields are an error; unset fields are not sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def body(self) -> dict[str, Any]:
        """The JSON body to send: aliases applied, fields that were never set left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


# -- construct: a model from values that are already valid (the mappings' hot path) ------------------

# Per class: the defaults in field order (``None`` holding the place of a factory default, an
# undefined marker that of a required field), the factory defaults, the number of fields, all names,
# the required names.
_Spec = tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...], int, frozenset[str], frozenset[str]]
_SPECS: dict[type[BaseModel], _Spec] = {}
_new = object.__new__
# BaseModel's own slots, set through their descriptors: what model_construct does, minus the lookups.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _spec(cls: type[BaseModel]) -> _Spec:
    defaults: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            defaults[name] = None
            factories.append((name, info.default_factory))  # type: ignore[arg-type]
        else:
            defaults[name] = info.default  # PydanticUndefined for a required field
    required = frozenset(name for name, value in defaults.items() if value is PydanticUndefined)
    spec = _SPECS[cls] = (defaults, tuple(factories), len(defaults), frozenset(defaults), required)
    return spec


def construct(cls: type[M], values: dict[str, Any], extra: dict[str, Any] | None = None) -> M:
    """``cls.model_construct(**values)`` for values that are already valid, at a fraction of its cost.

    Why: the mappings build a dozen neutral and write models per order from validated wire data,
    and pydantic's ``model_construct`` collects keyword arguments, walks aliases and inspects each
    ``default_factory`` on every call (several µs for a ``Line``). This fills defaults from a
    per-class cache instead and, when ``values`` names every field (the usual case on the read
    path), takes ``values`` itself as the instance dict, so callers must not reuse it. The result is
    what ``model_construct`` gives: no validation, the fields-set is the keys given (so
    ``exclude_unset`` and :meth:`WriteModel.body` keep working), the instance dict in field order
    when defaults are filled in, and ``extra`` as ``model_extra`` (read models).
    """
    spec = _SPECS.get(cls) or _spec(cls)
    if len(values) == spec[2]:  # every field given (call sites name only fields)
        fields_set = set(spec[3])
    else:
        fields_set = set(values)
        merged = spec[0].copy()
        merged.update(values)
        for name, factory in spec[1]:
            if name not in fields_set:
                merged[name] = factory()
        if spec[4] and not spec[4] <= fields_set:  # a required field not given: left out, as pydantic does
            merged = {name: value for name, value in merged.items() if value is not PydanticUndefined}
        values = merged
    model: M = _new(cls)
    _set_dict(model, values)
    _set_fields_set(model, fields_set)
    _set_extra(model, extra)
    _set_private(model, None)
    return model


def format_location(loc: Sequence[int | str]) -> str:
    """``("products", 0, "quantity")`` → ``"products[0].quantity"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or part in ("function-before[]", "function-after[]"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def invalid_payload_from(what: str, error: ValidationError, prefix: str = "") -> InvalidPayload:
    """Turn a pydantic error into our :class:`InvalidPayload`, one ``(path, reason)`` per problem."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        path = format_location(item["loc"])
        if prefix:
            path = f"{prefix}{path}" if path.startswith("[") else (f"{prefix}.{path}" if path else prefix)
        message = str(item["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append((path, message))
    return InvalidPayload(what, problems)


def parse_wire(model: type[M], data: Any, *, what: str, prefix: str = "") -> M:
    """Validate ``data`` into ``model``; raise :class:`InvalidPayload` naming the bad field."""
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else type(data).__name__
        raise InvalidPayload(what, [(prefix, f"expected a JSON object, got {got}")])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_payload_from(what, error, prefix) from None


# -- plain readers: the same validation, into plain dicts (the mappings' hot path) -------------------

# Config keys that shape validation and mean the same on a TypedDict; everything else (``extra``,
# ``frozen``, titles...) is about model instances.
_PLAIN_CONFIG_KEYS = (
    "coerce_numbers_to_str", "populate_by_name", "str_strip_whitespace", "str_to_lower", "str_to_upper",
    "str_min_length", "str_max_length", "strict", "allow_inf_nan", "ser_json_timedelta", "regex_engine",
    "val_temporal_unit", "validate_by_alias", "validate_by_name",
)
_PLAIN_TYPES: dict[type[BaseModel], Any] = {}
_typed_dict: Any = TypedDict  # called with a computed name and fields (a static checker cannot follow)


def _plain_type(annotation: Any) -> Any:
    """``annotation`` with every read model in it replaced by its plain twin (lists, dicts, unions and
    ``Annotated`` metadata kept as they are)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return plain_twin(annotation)
    origin = get_origin(annotation)
    if origin is None:
        return annotation
    args = get_args(annotation)
    if origin is Annotated:
        return Annotated[(_plain_type(args[0]), *annotation.__metadata__)]
    if origin is Union or origin is UnionType:
        return Union[tuple(_plain_type(arg) for arg in args)]  # noqa: UP007 - built from a tuple
    if origin is list:
        return list.__class_getitem__(_plain_type(args[0]))
    if origin is dict:
        return dict.__class_getitem__((args[0], _plain_type(args[1])))
    return annotation  # Any, Literal, ... (no models inside)


def plain_twin(model: type[BaseModel]) -> Any:
    """A ``TypedDict`` that validates exactly like the read model ``model``, into a plain dict.

    Every field keeps its type, its constraints and validators (``Field(ge=0)``, ``pattern``,
    ``BeforeValidator``…) and its default, so the dict always has every field, holding what the
    model's attribute would hold; nested read models become nested twins. Unknown fields are left
    out (``extra="ignore"``): hot paths copy them verbatim from the raw JSON. Only plain field
    declarations are supported: a model with aliases or model/field validators is refused, since
    its twin could not behave the same.
    """
    known = _PLAIN_TYPES.get(model)
    if known is not None:
        return known
    if model.__pydantic_decorators__.model_validators or model.__pydantic_decorators__.field_validators:
        raise TypeError(f"{model.__name__} has validators: a plain twin would not run them")
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.alias is not None or info.validation_alias is not None:
            raise TypeError(f"{model.__name__}.{name} has an alias: not supported by plain twins")
        metadata = list(info.metadata)
        if info.default_factory is not None:
            metadata.append(Field(default_factory=info.default_factory))
        elif not info.is_required():
            metadata.append(Field(default=info.default))
        annotation = _plain_type(info.annotation)
        fields[name] = Annotated[(annotation, *metadata)] if metadata else annotation
    twin = _typed_dict(f"{model.__name__}Plain", fields)
    config: dict[str, Any] = {key: value for key, value in model.model_config.items() if key in _PLAIN_CONFIG_KEYS}
    twin.__pydantic_config__ = {**config, "extra": "ignore"}
    _PLAIN_TYPES[model] = twin
    return twin


def plain_reader(annotation: Any) -> Callable[[Any], Any]:
    """``validate_python`` of a validator for ``annotation`` (a read model, or e.g. ``list[Model]``)
    that reads JSON like the models in it but returns plain dicts (see :func:`plain_twin`).

    Why: building a model instance per object (fields-set, ``model_extra`` copy) is about half of
    what validating an order costs, and a mapping that only reads fields and copies the rest from
    the raw JSON does not need instances. It raises ``ValidationError`` exactly when the models
    would; callers then validate again with the model to raise the model's own
    :class:`InvalidPayload` (paths and messages unchanged), e.g.::

        try:
            order = _READ_ORDER(raw)
        except ValidationError:
            order = to_plain(parse_wire(Order, raw, what=...))  # raises the model's error
    """
    return TypeAdapter(_plain_type(annotation)).validator.validate_python


def to_plain(value: Any) -> Any:
    """A validated model (or a list/dict of them) as the plain dicts :func:`plain_reader` returns.

    Only reached when a model accepts what its plain twin refused, which the twins are built never
    to do; kept so that such a disagreement could never turn a valid payload into an error.
    """
    if isinstance(value, BaseModel):
        return {name: to_plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value
