"""Response shaping: one mapped record in, the record a client asked for out.

``truto_response_format`` picks the form -- ``unified`` (mapped object plus the
provider's record under ``remote_data``), ``raw`` (the provider's record, unmapped) or
``normalized`` (strictly schema-conformant, see ``unidir.unified.normalize``) -- and
``truto_ignore_remote_data`` / ``truto_exclude_fields`` trim it. Runs once per record
of every list page, so per-request work (parsing exclusion paths, reading schemas) is
cached and the per-record path only copies what it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from unidir.unified.field_paths import exclude, exclusion_tree, parse_exclude_fields
from unidir.unified.normalize import normalize

__all__ = [
    "RESPONSE_FORMATS",
    "ResponseFormat",
    "ShapingOptions",
    "parse_exclude_fields",
    "shape_record",
]

ResponseFormat = Literal["unified", "raw", "normalized"]
RESPONSE_FORMATS: tuple[ResponseFormat, ...] = ("unified", "raw", "normalized")


@dataclass(frozen=True)
class ShapingOptions:
    format: ResponseFormat = "unified"
    ignore_remote_data: bool = False
    exclude_fields: tuple[str, ...] = ()


def shape_record(
    unified: dict[str, Any], raw: Any, options: ShapingOptions, schema: type[BaseModel]
) -> Any:
    """The record to return for one object, in the requested format."""
    shaped: Any
    if options.format == "raw":
        shaped = raw
    elif options.format == "normalized":
        shaped = normalize(unified, schema)
    else:
        shaped = dict(unified)
        if options.ignore_remote_data:
            shaped.pop("remote_data", None)
        else:
            shaped["remote_data"] = raw
    if options.exclude_fields:
        shaped = exclude(shaped, exclusion_tree(options.exclude_fields))
    return shaped
