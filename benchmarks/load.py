"""Load generator for benchmarks/serving.py: N concurrent HTTP clients, each in its own process.

Not run by itself. A scenario is a ``RequestPlan`` (method, paths, headers, a body template); every
client process sends it over its own ``http.client`` connection, one request at a time, and records
each request's latency. Separate processes keep the clients' own CPU time (building bodies, reading
answers) out of the server's GIL and out of each other's way.

By default each client sends its next request as soon as the last is answered (a closed loop: it
measures how much the server can take). With ``rate``, the clients together send that many requests
per second at fixed times, whatever the answers do (an open loop: the latency at a given arrival rate,
such as the Monday-morning peak). Latency is then counted from the time a request was due, not from
when a client that fell behind got round to sending it, so a slow server cannot hide its queue
(coordinated omission).

The connection is opened once and reused while the server keeps it open. gunicorn's ``sync``
workers (the service's configuration) answer every request with ``Connection: close``, so against
them ``http.client`` reconnects for each request; the connect time is then part of the latency,
for the service and the baseline alike.
"""

from __future__ import annotations

import http.client
import multiprocessing
import multiprocessing.connection
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

#: Replaced in a body template by a fresh value for every request (a GP system's new HIS identifier).
UNIQUE = b"@@UNIQUE@@"


@dataclass(frozen=True)
class RequestPlan:
    """What every request of a scenario looks like."""

    method: str
    #: Paths used in turn (client ``k`` starts at path ``k``), e.g. different Tasks to read.
    paths: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = ()
    #: Body template; every occurrence of UNIQUE becomes a new uuid4 hex per request.
    body: bytes | None = None
    #: Status codes that count as success; anything else is counted as an error.
    expect: tuple[int, ...] = (200, 201)
    #: A session cookie to send; a Set-Cookie in an answer replaces it (the inbox renews its session).
    cookie: str | None = None


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0
    first_error: str = ""
    finished_at: float = 0.0


@dataclass(frozen=True)
class LoadResult:
    label: str
    clients: int
    requests: int
    errors: int
    elapsed: float
    median_ms: float
    p99_ms: float
    throughput: float
    first_error: str = ""


class Client:
    """One simulated client: a connection, the current cookie, and the position in the plan's paths."""

    def __init__(self, host: str, port: int, plan: RequestPlan, index: int = 0) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=300)
        self.plan = plan
        self.position = index
        self.cookie = plan.cookie

    def send(self) -> tuple[int, bytes]:
        plan = self.plan
        path = plan.paths[self.position % len(plan.paths)]
        self.position += 1
        headers = dict(plan.headers)
        if self.cookie:
            headers["Cookie"] = self.cookie
        body = plan.body.replace(UNIQUE, uuid.uuid4().hex.encode()) if plan.body and UNIQUE in plan.body \
            else plan.body
        try:
            self.conn.request(plan.method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (ConnectionError, http.client.HTTPException):
            # The server closed a kept-alive connection between requests: reconnect once and retry.
            self.conn.close()
            self.conn.request(plan.method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = cookie_header(set_cookie) or self.cookie
        if response.will_close:
            self.conn.close()
        return response.status, data

    def close(self) -> None:
        self.conn.close()


def cookie_header(set_cookie: str) -> str:
    """The ``Cookie`` request header for a ``Set-Cookie`` answer (name=value pairs only)."""
    jar: SimpleCookie = SimpleCookie()
    jar.load(set_cookie)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items() if morsel.value)


def _client_main(host: str, port: int, plan: RequestPlan, index: int, stop_at: Any,
                 remaining: Any, barrier: Any, out: multiprocessing.connection.Connection,
                 interval: float | None = None, phase: float = 0.0) -> None:
    result = ClientResult()
    client = Client(host, port, plan, index)
    try:
        barrier.wait()
        due = time.monotonic() + phase
        while True:
            if stop_at.value and time.monotonic() >= stop_at.value:
                break
            if remaining is not None:
                with remaining.get_lock():
                    if remaining.value <= 0:
                        break
                    remaining.value -= 1
            began = time.monotonic()
            if interval is not None:
                if due > began:
                    time.sleep(due - began)
                began, due = due, due + interval  # counted from when it was due (see the module's docs)
                if stop_at.value and began >= stop_at.value:
                    break
            try:
                status, data = client.send()
            except OSError as exc:
                status, data = 0, str(exc).encode()
            latency = time.monotonic() - began
            if status in plan.expect:
                result.latencies.append(latency)
            else:
                result.errors += 1
                if not result.first_error:
                    result.first_error = f"{status}: {data[:300].decode(errors='replace')}"
        result.finished_at = time.monotonic()
    finally:
        client.close()
        out.send(result)
        out.close()


def nearest_rank(sorted_values: list[float], percentile: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-int(percentile * len(sorted_values)) // 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def run_load(label: str, host: str, port: int, plan: RequestPlan, clients: int, *, duration: float | None = None,
             requests: int | None = None, warmup: int = 2, rate: float | None = None) -> LoadResult:
    """``clients`` processes send ``plan`` as fast as answers come (or, with ``rate``, that many requests
    per second in all, evenly spread), for ``duration`` seconds or until ``requests`` requests in all have
    been sent. ``warmup`` requests go first, one at a time and unmeasured, so lazy imports and first
    connections of each worker are not in the figures."""
    assert (duration is None) != (requests is None), "give a duration or a number of requests"
    warm = Client(host, port, plan, index=clients)
    try:
        for _ in range(warmup):
            status, data = warm.send()
            if status not in plan.expect:
                raise RuntimeError(f"{label}: warm-up request failed with {status}: {data[:500]!r}")
    finally:
        warm.close()

    # fork: the plan (possibly megabytes of body) is inherited, not pickled, and clients start fast.
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    stop_at = context.Value("d", 0.0)
    remaining = context.Value("q", requests) if requests is not None else None
    processes, pipes = [], []
    for index in range(clients):
        receive, send = context.Pipe(duplex=False)
        interval = clients / rate if rate else None
        phase = index * interval / clients if interval else 0.0  # the clients take turns, not all at once
        process = context.Process(target=_client_main, daemon=True,
                                  args=(host, port, plan, index, stop_at, remaining, barrier, send, interval, phase))
        process.start()
        send.close()
        processes.append(process)
        pipes.append(receive)
    try:
        if duration is not None:
            # Set before the barrier opens, so no client can read an unset deadline and run forever.
            stop_at.value = time.monotonic() + 1.0 + duration
            barrier.wait()
            # The clients are released at the barrier; the window starts now (the 1 s slack above
            # only covers scheduling the release, the deadline is moved to match).
            started = time.monotonic()
            stop_at.value = started + duration
        else:
            barrier.wait()
            started = time.monotonic()
        results: list[ClientResult] = [pipe.recv() for pipe in pipes]
        for process in processes:
            process.join(timeout=30)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    latencies = sorted(latency for r in results for latency in r.latencies)
    errors = sum(r.errors for r in results)
    elapsed = max(r.finished_at for r in results) - started
    first_error = next((r.first_error for r in results if r.first_error), "")
    return LoadResult(label=label, clients=clients, requests=len(latencies), errors=errors, elapsed=elapsed,
                      median_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
                      p99_ms=nearest_rank(latencies, 99) * 1000,
                      throughput=len(latencies) / elapsed if elapsed > 0 else 0.0, first_error=first_error)


def run_sequential(label: str, host: str, port: int, plan: RequestPlan, count: int, warmup: int = 2) -> LoadResult:
    """One client, one request at a time, in this process: the latency a single user sees."""
    client = Client(host, port, plan)
    latencies, errors, first_error = [], 0, ""
    try:
        for _ in range(warmup):
            client.send()
        started = time.monotonic()
        for _ in range(count):
            began = time.monotonic()
            status, data = client.send()
            if status in plan.expect:
                latencies.append(time.monotonic() - began)
            else:
                errors += 1
                first_error = first_error or f"{status}: {data[:300].decode(errors='replace')}"
        elapsed = time.monotonic() - started
    finally:
        client.close()
    latencies.sort()
    return LoadResult(label=label, clients=1, requests=len(latencies), errors=errors, elapsed=elapsed,
                      median_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
                      p99_ms=nearest_rank(latencies, 99) * 1000,
                      throughput=len(latencies) / elapsed if elapsed > 0 else 0.0, first_error=first_error)


def pid_children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers are children of its master)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces; the parent pid follows it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return children


def memory_kib(pid: int, field_name: str) -> int:
    """A field of /proc/<pid>/status in KiB, e.g. VmRSS or VmHWM (peak resident set)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def reset_peak(pid: int) -> None:
    """Start a new peak: writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")
