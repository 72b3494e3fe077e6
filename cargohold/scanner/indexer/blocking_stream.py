"""A blocking, file-like view of an async byte stream, for code that runs on a thread.

``tarfile`` and the decompressors want ``read(n)``; layer blobs arrive as an async
iterator on the event loop. ``BlockingChunkReader`` pulls from the loop only when its
reader needs more bytes, one batch of chunks (about ``BATCH_BYTES``) per round trip, so a
layer is never held in memory whole and small chunks do not each pay for a thread switch.
The loop must keep running while the thread reads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import threading
from collections.abc import AsyncIterator
from typing import Final

from cargohold.scanner.indexer.errors import LayerStreamFailed

BATCH_BYTES: Final = 1024 * 1024


class StreamClosed(Exception):
    """The reader was closed from the event loop (the indexing task was cancelled)."""


class BlockingChunkReader(io.RawIOBase):
    """``read``/``readinto`` over ``chunks``, which is iterated on ``loop``.

    Contract: call the read methods from a thread other than the loop's, never from the
    loop itself (that would deadlock). ``close()`` may be called from any thread: a read
    that is waiting is interrupted with ``StreamClosed``. An exception raised by the
    iterator is raised from ``read`` as ``LayerStreamFailed`` (the original is its
    cause), so that it cannot be mistaken for a decompression error.
    """

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._chunks = chunks
        self._loop = loop
        self._buffer = memoryview(b"")
        self._exhausted = False
        self._pending: concurrent.futures.Future[bytes | None] | None = None
        self._lock = threading.Lock()
        self._closing = False
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer and not self._fill():
            return 0
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self.bytes_read += count
        return count

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes from the current position without consuming them; fewer
        only at the end of the stream."""
        while len(self._buffer) < size and not self._exhausted:
            chunk = self._next_chunk()
            self._buffer = memoryview(bytes(self._buffer) + chunk)
        return bytes(self._buffer[:size])

    def close(self) -> None:
        with self._lock:
            self._closing = True
            pending = self._pending
        if pending is not None:
            pending.cancel()
        super().close()

    def _fill(self) -> bool:
        while not self._exhausted:
            chunk = self._next_chunk()
            if chunk:
                self._buffer = memoryview(chunk)
                return True
        return False

    def _next_chunk(self) -> bytes:
        # Submitting under the lock that close() takes: either close() sees the request
        # and cancels it, or this sees that close() came first.
        with self._lock:
            if self._closing:
                raise StreamClosed("the layer stream was closed")
            future = asyncio.run_coroutine_threadsafe(_next_batch(self._chunks), self._loop)
            self._pending = future
        try:
            chunk = future.result()
        except concurrent.futures.CancelledError as exc:
            raise StreamClosed("the layer stream was closed") from exc
        except Exception as exc:
            raise LayerStreamFailed(f"reading a layer failed: {exc!r}") from exc
        finally:
            with self._lock:
                self._pending = None
        if chunk is None:
            self._exhausted = True
            return b""
        return chunk


async def _next_batch(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The next chunks joined, ``BATCH_BYTES`` or a little more; ``None`` at the end."""
    batch: list[bytes] = []
    size = 0
    while size < BATCH_BYTES:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            break
        batch.append(chunk)
        size += len(chunk)
    return b"".join(batch) if batch else None
