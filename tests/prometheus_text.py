"""Reading the Prometheus text of /metrics (fair.metrics) in tests."""

from __future__ import annotations

import re


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the Prometheus text, or None when it is not there."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if labels else ''} (\S+)$"
    found = re.search(pattern, exposition, re.M)
    return float(found.group(1)) if found else None
