"""A TCP proxy that delays each direction by half a round-trip time.

There is no netem on the benchmark machine, so S3's 20-50 ms round trips are emulated here:
every chunk read from one side is forwarded to the other side `rtt/2` after it arrived, in order,
without limiting throughput (a chunk does not wait for the previous one's delay, only for its own).
Usage:  python latency_proxy.py --listen 127.0.0.1:9001 --target 127.0.0.1:9000 --rtt-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

CHUNK = 256 * 1024
QUEUED = 64


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    # Bounded: at most QUEUED chunks in flight per direction (memory stays small).
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=QUEUED)

    async def forward() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    task = asyncio.create_task(forward())
    try:
        while True:
            data = await reader.read(CHUNK)
            await queue.put((loop.time() + delay, data))
            if not data:
                break
        await task
    except (OSError, asyncio.IncompleteReadError):
        task.cancel()
    finally:
        if not task.done():
            task.cancel()


async def _handle(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    host: str,
    port: int,
    delay: float,
) -> None:
    try:
        server_r, server_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(
            _pump(client_r, server_w, delay),
            _pump(server_r, client_w, delay),
            return_exceptions=True,
        )
    finally:
        for w in (server_w, client_w):
            w.close()
            with contextlib.suppress(OSError):
                await w.wait_closed()


def _split(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host, int(port)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to accept clients on")
    parser.add_argument("--target", required=True, help="HOST:PORT of the real server")
    parser.add_argument("--rtt-ms", type=float, required=True, help="round trip time to add")
    args = parser.parse_args()
    lhost, lport = _split(args.listen)
    thost, tport = _split(args.target)
    delay = args.rtt_ms / 2000.0

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        # At shutdown open connections are cancelled; say nothing (3.11's streams would log a
        # traceback for every handler task that ends cancelled).
        with contextlib.suppress(asyncio.CancelledError):
            await _handle(r, w, thost, tport, delay)

    server = await asyncio.start_server(handle, lhost, lport, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
