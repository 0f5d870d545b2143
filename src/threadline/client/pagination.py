"""Pages returned by list methods; iterating one walks every following page too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from threadline.client import types as t
from threadline.client._ops import Op, PageData

M = TypeVar("M", bound=BaseModel)


class _Page(Generic[M]):
    def __init__(self, page: PageData[M], op: Op[PageData[M]]) -> None:
        self.data: list[M] = page.data
        self.page_info: t.PageInfo = page.page_info
        self.total_count: int | None = page.total_count
        self._page = page
        self._op = op

    def has_next_page(self) -> bool:
        return self._next_op() is not None

    def _next_op(self) -> Op[PageData[M]] | None:
        return self._op.next_op(self._page) if self._op.next_op else None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(data=<{len(self.data)} items>, "
            f"total_count={self.total_count}, has_next_page={self.page_info.has_next_page})"
        )


class SyncPage(_Page[M]):
    """A page of results; ``for item in page`` continues through all later pages."""

    def __init__(
        self, page: PageData[M], op: Op[PageData[M]], send: Callable[[Op[Any]], Any]
    ) -> None:
        super().__init__(page, op)
        self._send = send

    def next_page(self) -> SyncPage[M] | None:
        op = self._next_op()
        if op is None:
            return None
        return SyncPage(self._send(op), op, self._send)

    def __iter__(self) -> Iterator[M]:
        page: SyncPage[M] | None = self
        while page is not None:
            yield from page.data
            page = page.next_page()


class AsyncPage(_Page[M]):
    """A page of results; ``async for item in page`` continues through all later pages."""

    def __init__(
        self, page: PageData[M], op: Op[PageData[M]], send: Callable[[Op[Any]], Awaitable[Any]]
    ) -> None:
        super().__init__(page, op)
        self._send = send

    async def next_page(self) -> AsyncPage[M] | None:
        op = self._next_op()
        if op is None:
            return None
        return AsyncPage(await self._send(op), op, self._send)

    async def __aiter__(self) -> AsyncIterator[M]:
        page: AsyncPage[M] | None = self
        while page is not None:
            for item in page.data:
                yield item
            page = await page.next_page()
