"""What a refused call raised: `code_of(call)` is the FairError's machine code."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from fair.errors import FairError


async def code_of(awaitable: Awaitable[object]) -> str:
    with pytest.raises(FairError) as raised:
        await awaitable
    return raised.value.code
