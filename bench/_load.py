"""A small, reusable HTTP load generator on aiohttp (closed loop, fixed concurrency).

``C`` workers share one keep-alive connection pool of ``C`` connections; each worker sends a
request, waits for the whole response, records the latency, and sends the next one. A run stops
after ``requests`` requests or ``duration`` seconds (whichever comes first; at least one bound is
required, so every loop is bounded). The result holds the throughput of *successful* requests, the
p50/p99 of their latencies, and every failure: a status outside ``Request.ok`` or a transport
error is counted, and its first occurrences are kept for printing. Nothing is dropped silently.

Usage::

    async with LoadGenerator("http://127.0.0.1:8787", headers={"x-api-key": key}) as gen:
        result = await gen.run(lambda i: Request("GET", "/livez"), concurrency=16, duration=5)
        print(result.ops_per_s, result.p50_ms, result.p99_ms, result.errors)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

__all__ = ["LoadGenerator", "LoadResult", "Request", "describe", "percentile"]


@dataclass(frozen=True)
class Request:
    """One request: ``path`` is relative to the generator's base URL."""

    method: str
    path: str
    body: bytes | None = None
    ok: tuple[int, ...] = (200,)


RequestFactory = Callable[[int], Request]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted list; NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class LoadResult:
    """What one run measured. Latencies are of successful requests, in milliseconds, sorted."""

    ok: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    error_kinds: Counter[str] = field(default_factory=Counter)
    client_cpu: float = math.nan  # cores used by this process during the run (1.0 = one core)
    units_per_op: int = 1

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    @property
    def ops_per_s(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else math.nan

    @property
    def units_per_s(self) -> float:
        return self.ops_per_s * self.units_per_op

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def max_ms(self) -> float:
        return self.latencies_ms[-1] if self.latencies_ms else math.nan

    def error_summary(self, limit: int = 3) -> list[str]:
        return [f"{n} x {kind}" for kind, n in self.error_kinds.most_common(limit)]


class LoadGenerator:
    """Holds the connection pool; :meth:`run` may be called many times."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        max_connections: int = 64,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.max_connections = max_connections
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LoadGenerator:
        connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use LoadGenerator as an async context manager")
        return self._session

    async def send(self, request: Request, *, seconds: float | None = None) -> tuple[int, bytes]:
        """One request outside a measurement (seeding, probes): its status and body."""
        async with self.session.request(
            request.method,
            self.base_url + request.path,
            data=request.body,
            timeout=aiohttp.ClientTimeout(total=seconds or self.timeout),
        ) as resp:
            return resp.status, await resp.read()

    async def run(
        self,
        factory: RequestFactory,
        *,
        concurrency: int = 16,
        duration: float | None = None,
        requests: int | None = None,
        units_per_op: int = 1,
        on_response: Callable[[int, int, bytes], None] | None = None,
    ) -> LoadResult:
        """Send ``factory(i)`` for i = 0, 1, ... from ``concurrency`` workers until a bound is hit.

        Throughput is successful requests divided by the wall time from the first send until the
        last in-flight response arrived. ``on_response(i, status, body)``, if given, sees every
        response (for callers that need the bodies, e.g. to collect created ids).
        """
        if duration is None and requests is None:
            raise ValueError("give duration or requests: every run must be bounded")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        session = self.session
        base = self.base_url
        latencies: list[float] = []
        error_kinds: Counter[str] = Counter()
        counter = 0
        errors = 0
        start = time.perf_counter()
        deadline = start + duration if duration is not None else math.inf
        limit = requests if requests is not None else math.inf

        async def worker() -> None:
            nonlocal counter, errors
            perf = time.perf_counter
            while counter < limit and perf() < deadline:
                index = counter
                counter += 1
                req = factory(index)
                sent = perf()
                try:
                    async with session.request(req.method, base + req.path, data=req.body) as resp:
                        body = await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    errors += 1
                    error_kinds[f"{type(exc).__name__}: {exc}"[:160]] += 1
                    continue
                elapsed = perf() - sent
                if on_response is not None:
                    on_response(index, status, body)
                if status in req.ok:
                    latencies.append(elapsed * 1000.0)
                else:
                    errors += 1
                    snippet = body[:120].decode("utf-8", "replace")
                    error_kinds[f"HTTP {status} on {req.method} {req.path[:60]}: {snippet}"] += 1

        cpu_start = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        latencies.sort()
        return LoadResult(
            ok=len(latencies),
            errors=errors,
            seconds=seconds,
            latencies_ms=latencies,
            error_kinds=error_kinds,
            client_cpu=cpu / seconds if seconds > 0 else math.nan,
            units_per_op=units_per_op,
        )


def describe(result: LoadResult) -> dict[str, Any]:
    """A plain dict of the headline numbers (for JSON output)."""
    return {
        "ok": result.ok,
        "errors": result.errors,
        "seconds": round(result.seconds, 3),
        "ops_per_s": round(result.ops_per_s, 1),
        "units_per_s": round(result.units_per_s, 1),
        "p50_ms": round(result.p50_ms, 3),
        "p99_ms": round(result.p99_ms, 3),
        "max_ms": round(result.max_ms, 3),
        "client_cpu": round(result.client_cpu, 3),
        "error_kinds": dict(result.error_kinds),
    }
