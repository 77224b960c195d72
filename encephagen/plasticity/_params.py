"""Shared machinery for the plasticity parameter dataclasses: unit, bounds and doc per field,
validation with errors that name the parameter."""
from __future__ import annotations

import math
from dataclasses import MISSING, asdict, field, fields, replace
from typing import Any, Mapping


def p(default, unit: str, doc: str, lo=None, hi=None, choices=None, lo_open: bool = False):
    """A parameter field: ``lo``/``hi`` are inclusive bounds unless ``lo_open`` (then ``> lo``)."""
    return field(default=default, metadata={"unit": unit, "doc": doc, "min": lo, "max": hi,
                                            "choices": choices, "lo_open": lo_open})


class ParamsMixin:
    """Validation, dict round trip and metadata for frozen parameter dataclasses."""

    _kind = "plasticity"

    def _validate(self):
        for f in fields(self):
            val = getattr(self, f.name)
            md = f.metadata
            where = f"{self._kind} parameter {f.name!r}"
            if md.get("choices") is not None:
                if val not in md["choices"]:
                    raise ValueError(f"{where} = {val!r}: must be one of {md['choices']}")
                continue
            if isinstance(f.default, bool):
                if not isinstance(val, bool):
                    raise ValueError(f"{where} = {val!r}: must be true or false")
                continue
            if not isinstance(val, (int, float)) or isinstance(val, bool) or not math.isfinite(val):
                raise ValueError(f"{where} = {val!r}: must be a finite number")
            lo, hi, unit = md.get("min"), md.get("max"), md.get("unit", "")
            if lo is not None:
                if md.get("lo_open") and val <= lo:
                    raise ValueError(f"{where} = {val} {unit}: must be > {lo}")
                if val < lo:
                    raise ValueError(f"{where} = {val} {unit}: below its minimum {lo}")
            if hi is not None and val > hi:
                raise ValueError(f"{where} = {val} {unit}: above its maximum {hi}")

    def __post_init__(self):
        self._validate()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None):
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown {cls._kind} parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **kw):
        return replace(self, **kw)

    @classmethod
    def metadata(cls) -> dict:
        """{name: {default, unit, doc, min, max, choices}} for docs and a config schema."""
        out = {}
        for f in fields(cls):
            md = dict(f.metadata)
            md["default"] = f.default if f.default is not MISSING else None
            out[f.name] = md
        return out
