"""The adapters' own parts and metadata, as the generator types them, against what the
adapters write (``uiwire.typegen._shape``)."""

from __future__ import annotations

from typing import Any, cast

from uiwire.stream import Usage
from uiwire.typegen._shape import USAGE_METADATA


def test_the_usage_type_has_every_key_usage_writes() -> None:
    usage = cast("dict[str, Any]", USAGE_METADATA)["properties"]["usage"]
    full = Usage(input_tokens=3, output_tokens=5, reasoning_tokens=2, cached_input_tokens=1)
    written = full.as_metadata()
    assert set(written) == set(usage["properties"])
    assert all(usage["properties"][key] == {"type": "integer"} for key in written)
    # the keys left out when zero are the optional ones
    assert set(Usage(input_tokens=1).as_metadata()) == set(usage["required"])
