"""Helpers for the Literal AI compat tests: the real ``literalai`` SDK, imported quietly.

``traceloop`` (imported by ``literalai``) declares pydantic models the v1 way, which warns at
import time; the suite turns warnings into errors, so the import happens here, warnings ignored.
"""

from __future__ import annotations

import warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import literalai
    from literalai import AsyncLiteralClient, LiteralClient

HERE = Path(__file__).parent
CHAINLIT_TRAFFIC = HERE / "chainlit_traffic.json"

__all__ = ["CHAINLIT_TRAFFIC", "AsyncLiteralClient", "LiteralClient", "literalai"]
