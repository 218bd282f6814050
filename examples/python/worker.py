#!/usr/bin/env python3
"""A Jobgate worker in plain Python: graphql-ws over the `websockets` package.

    JOBGATE_TOKEN=... python3 worker.py [--url ws://localhost:4000/graphql] [--concurrency 4] QUEUE [QUEUE ...]

The protocol it speaks is described in docs/workers.md. In short: open a
WebSocket on /graphql with the subprotocol `graphql-transport-ws`, send
`connection_init` with the token, subscribe to `workAssignedBatches`, run the
handler for each pushed job, and settle it (`completeJob` / `failJob`) over the
same socket. Jobs of queues with `heartbeatSeconds` are touched every half of
it. Retryable closes reconnect with jittered exponential back-off, fatal ones
stop the worker. SIGINT/SIGTERM stop it cleanly: `pauseWork`, let running jobs
finish and settle, close. A second signal stops at once (the gateway fails the
unsettled jobs back).

Needs Python >= 3.9 and `websockets` >= 10 (Debian bookworm's python3-websockets
is 10.4; 14 and later use the new asyncio implementation behind the same
`websockets.connect`). Import it as a module to run your own handler:

    from worker import Worker
    asyncio.run(Worker(url, token, ["emails"], 8, my_handler).run())
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import itertools
import json
import logging
import os
import random
import signal
import sys
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Tuple, Union

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

log = logging.getLogger("jobgate.worker")

SUBPROTOCOL = "graphql-transport-ws"

# The job fields this worker asks for; select any field of `Job` you need.
WORK_ASSIGNED = """
subscription Work($queues: [String!]!, $concurrency: Int) {
  workAssignedBatches(queues: $queues, concurrency: $concurrency) {
    id queue data retryCount retryLimit heartbeatSeconds expireInSeconds
  }
}"""
COMPLETE_JOB = "mutation Complete($queue: String!, $id: ID!, $output: JSON) { completeJob(queue: $queue, id: $id, output: $output) { id } }"
FAIL_JOB = "mutation Fail($queue: String!, $id: ID!, $error: JSON) { failJob(queue: $queue, id: $id, error: $error) { id } }"
TOUCH_JOB = "mutation Touch($queue: String!, $id: ID!) { touchJob(queue: $queue, id: $id) { id } }"
PAUSE_WORK = "mutation Pause { pauseWork }"

# Close codes after which reconnecting cannot help (see docs/workers.md).
FATAL_CLOSE_CODES = {
    1007: "a frame was not valid UTF-8",
    1009: "a message was larger than the gateway accepts",
    4400: "the gateway could not read a graphql-ws message",
    4401: "subscribed before connection_ack",
    4403: "the token was refused, revoked or expired",
    4406: "the gateway did not accept the subprotocol",
    4409: "a subscription id was used twice",
}
# The tenant's connection cap: reconnecting helps, but not soon.
CLOSE_TOO_MANY_CONNECTIONS = 4429
# Error codes after which the same request may succeed a little later.
RETRYABLE_CODES = {"RATE_LIMITED", "SERVICE_UNAVAILABLE"}
# The job is no longer this connection's to settle: drop it.
GONE_CODES = {"CONFLICT", "NOT_FOUND"}

ACK_TIMEOUT_SECONDS = 10
# A connection that lived this long starts the back-off afresh when it closes.
STABLE_CONNECTION_SECONDS = 30

Handler = Callable[[Dict[str, Any]], Union[Any, Awaitable[Any]]]


def backoff(attempt: int, base: float = 0.25, cap: float = 15.0) -> float:
    """Exponential back-off with jitter: somewhere in the upper half of base * 2^attempt, at most cap."""
    delay = min(cap, base * 2 ** min(attempt, 30))
    return delay / 2 + random.random() * delay / 2


class JobFailure(Exception):
    """Raise from a handler to fail the job with a structured error."""

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.details = details or {}


class GraphQLErrors(Exception):
    """The gateway answered with GraphQL errors; `code` is the first one's extensions.code."""

    def __init__(self, errors: Any):
        self.errors = errors if isinstance(errors, list) else [errors]
        first = self.errors[0] if self.errors and isinstance(self.errors[0], dict) else {}
        self.code = (first.get("extensions") or {}).get("code") or "UNKNOWN"
        super().__init__(f"{self.code}: {first.get('message', errors)}")


class ConnectionLost(Exception):
    """The socket closed before the gateway answered."""


class Connection:
    """One graphql-ws connection: multiplexes operations over one WebSocket."""

    def __init__(self, ws: Any):
        self.ws = ws
        self._ids = itertools.count(1)
        self._operations: Dict[str, Callable[[Dict[str, Any]], None]] = {}
        self._send_lock = asyncio.Lock()
        loop = asyncio.get_running_loop()
        self.acknowledged: asyncio.Future = loop.create_future()
        # (code, reason) once the socket has closed.
        self.closed: asyncio.Future = loop.create_future()
        self._reader = asyncio.ensure_future(self._read())

    @property
    def is_open(self) -> bool:
        return not self.closed.done()

    async def send(self, message: Dict[str, Any]) -> None:
        try:
            async with self._send_lock:
                await self.ws.send(json.dumps(message))
        except ConnectionClosed:
            raise ConnectionLost() from None

    async def _read(self) -> None:
        code, reason = 1006, ""
        try:
            while True:
                message = json.loads(await self.ws.recv())
                kind = message.get("type")
                if kind == "connection_ack":
                    if not self.acknowledged.done():
                        self.acknowledged.set_result(True)
                elif kind == "ping":
                    # graphql-ws ping: answer with pong (the gateway itself uses WebSocket ping frames,
                    # which the websockets package answers on its own).
                    await self.send({"type": "pong", **({"payload": message["payload"]} if "payload" in message else {})})
                elif kind in ("next", "error", "complete"):
                    on_message = self._operations.get(message.get("id"))
                    if on_message:
                        on_message(message)
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                code, reason = closed.rcvd.code, closed.rcvd.reason
        except ConnectionLost:  # the pong could not be sent: the next recv() says why
            pass
        except Exception as error:  # a message that is not JSON, or a bug above
            log.error("reading from the gateway failed: %r", error)
            await self.ws.close(code=4400, reason="bad message")
        finally:
            if not self.closed.done():
                self.closed.set_result((code, reason))
            for on_message in list(self._operations.values()):
                on_message({"type": "closed"})
            self._operations.clear()

    async def start(self, query: str, variables: Dict[str, Any], on_message: Callable[[Dict[str, Any]], None]) -> str:
        """Starts an operation; `on_message` gets its next/error/complete messages (and `closed`)."""
        if not self.is_open:
            raise ConnectionLost()
        operation_id = str(next(self._ids))
        self._operations[operation_id] = on_message
        try:
            await self.send({"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
        except ConnectionLost:
            self._operations.pop(operation_id, None)
            raise
        return operation_id

    async def request(self, query: str, variables: Optional[Dict[str, Any]] = None) -> Any:
        """A query or mutation: its data, or GraphQLErrors / ConnectionLost."""
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        result: Dict[str, Any] = {}

        def on_message(message: Dict[str, Any]) -> None:
            if done.done():
                return
            kind = message["type"]
            if kind == "next":
                result.update(message.get("payload") or {})
            elif kind == "error":
                done.set_exception(GraphQLErrors(message.get("payload")))
            elif kind == "complete":
                done.set_result(result)
            elif kind == "closed":
                done.set_exception(ConnectionLost())

        operation_id = await self.start(query, variables or {}, on_message)
        try:
            payload = await done
        finally:
            self._operations.pop(operation_id, None)
        if payload.get("errors"):
            raise GraphQLErrors(payload["errors"])
        return payload.get("data")

    async def close(self, code: int = 1000, reason: str = "") -> Tuple[int, str]:
        await self.ws.close(code=code, reason=reason)
        await self._reader
        return self.closed.result()


class Job:
    """A pushed job and the connection that holds it (the only one that may settle it)."""

    def __init__(self, connection: Connection, fields: Dict[str, Any]):
        self.connection = connection
        self.fields = fields
        self.id: str = fields["id"]
        self.queue: str = fields["queue"]
        self.task: Optional[asyncio.Task] = None


def to_output(result: Any) -> Any:
    """What the handler returned, as the job's output (a JSON object or array; None for none)."""
    if result is None or isinstance(result, (dict, list)):
        return result
    return {"result": result}


def to_failure(error: BaseException) -> Dict[str, Any]:
    if isinstance(error, JobFailure):
        return {"message": str(error), **error.details}
    return {"name": type(error).__name__, "message": str(error)}


class Worker:
    def __init__(self, url: str, token: str, queues: list, concurrency: int, handler: Handler, stop_timeout: float = 30.0):
        self.url = url
        self.token = token
        self.queues = queues
        self.concurrency = concurrency
        self.handler = handler
        self.stop_timeout = stop_timeout
        self.exit_status = 0
        self._jobs: Set[Job] = set()
        self._connection: Optional[Connection] = None
        self._shutdown: Optional[asyncio.Task] = None
        # Tasks nobody awaits (asyncio keeps only weak references to tasks).
        self._background: Set[asyncio.Task] = set()
        # Created in run(): before Python 3.10 they bind to the event loop current at creation.
        self._slots: asyncio.Semaphore
        self._stopping: asyncio.Event

    # ---- lifecycle ----

    async def run(self) -> int:
        """Works until stopped; returns the process exit status (0 after a clean stop)."""
        loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.concurrency)
        self._stopping = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self.stop)
            except (NotImplementedError, RuntimeError):  # Windows
                signal.signal(signum, lambda *_: loop.call_soon_threadsafe(self.stop))
        attempt = 0
        while not self._stopping.is_set():
            started = loop.time()
            try:
                code, reason = await self._session()
            except InvalidURI as error:
                log.error("bad gateway URL: %s", error)
                self.exit_status = 2
                break
            except (OSError, asyncio.TimeoutError, InvalidHandshake) as error:
                log.warning("could not connect to %s: %s", self.url, error or type(error).__name__)
                code, reason = None, ""
            if self._stopping.is_set():
                break
            if code in FATAL_CLOSE_CODES:
                log.error("the gateway closed the connection with %s (%s): %s; stopping", code, reason, FATAL_CLOSE_CODES[code])
                self.exit_status = 1
                break
            if loop.time() - started > STABLE_CONNECTION_SECONDS:
                attempt = 0
            delay = backoff(attempt, base=5.0 if code == CLOSE_TOO_MANY_CONNECTIONS else 0.25, cap=60.0 if code == CLOSE_TOO_MANY_CONNECTIONS else 15.0)
            attempt += 1
            if code is not None:
                log.warning("connection closed (%s %s); reconnecting in %.1f s", code, reason, delay)
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
            except asyncio.TimeoutError:
                pass
        if self._shutdown is None:
            self.stop()
        await self._shutdown
        return self.exit_status

    def stop(self) -> None:
        """First call: stop cleanly. Second call: stop now."""
        if self._shutdown is None:
            self._stopping.set()
            self._shutdown = asyncio.ensure_future(self._stop_cleanly())
        elif not self._shutdown.done():
            log.warning("stopping now: unsettled jobs go back to the queue")
            for job in list(self._jobs):
                if job.task:
                    job.task.cancel()

    async def _stop_cleanly(self) -> None:
        connection = self._connection
        if connection and connection.is_open:
            log.info("stopping: no new jobs; waiting for %d running", len(self._jobs))
            try:
                await asyncio.wait_for(connection.request(PAUSE_WORK), 5)
            except Exception as error:
                log.warning("pauseWork failed: %s", error)
        # Jobs pushed after the pause took effect (a claim already in flight) are worked too.
        await self._drain(self.stop_timeout)
        if connection and connection.is_open:
            await connection.close(1000, "worker stopping")
        log.info("stopped")

    async def _drain(self, timeout: float) -> None:
        """Waits for running jobs; after `timeout` cancels them (closing the socket fails them back)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._jobs:
            tasks = {job.task for job in self._jobs if job.task}
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("%d jobs still running after %.0f s; giving them up", len(tasks), timeout)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                return
            await asyncio.wait(tasks, timeout=remaining)

    # ---- one connection ----

    async def _session(self) -> Tuple[int, str]:
        """Connects, authenticates, subscribes; returns the close code and reason once the socket closes."""
        ws = await websockets.connect(
            self.url,
            subprotocols=[SUBPROTOCOL],
            open_timeout=10,
            # The gateway's WebSocket pings come every 12 s and are answered by websockets itself;
            # these pings of ours find a gateway that went silent.
            ping_interval=20,
            ping_timeout=20,
            # A batch of pushed jobs can be large (up to concurrency x the job data limit).
            max_size=None,
        )
        connection = Connection(ws)
        try:
            try:
                await connection.send({"type": "connection_init", "payload": {"token": self.token}})
                await asyncio.wait([connection.acknowledged, connection.closed], timeout=ACK_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                if not connection.acknowledged.done():
                    if connection.is_open:
                        await connection.close(4504, "connection_ack timeout")
                elif self._stopping.is_set():
                    await connection.close(1000, "worker stopping")
                else:
                    self._connection = connection
                    log.info("connected to %s; working %s with concurrency %d", self.url, ",".join(self.queues), self.concurrency)
                    await self._subscribe(connection)
            except ConnectionLost:
                pass  # closed meanwhile: its close code tells why
            return await connection.closed
        finally:
            if self._connection is connection:
                self._connection = None
            if connection.is_open:
                await connection.close()
            self._forget_jobs_of(connection)

    def _forget_jobs_of(self, connection: Connection) -> None:
        """The socket closed: the gateway fails its unsettled jobs back, so their results could not be settled."""
        lost = [job for job in self._jobs if job.connection is connection]
        if lost:
            log.warning("connection closed with %d jobs in hand; the gateway gives them to another worker", len(lost))
        for job in lost:
            if job.task:
                job.task.cancel()

    async def _subscribe(self, connection: Connection, attempt: int = 0) -> None:
        if self._stopping.is_set() or not connection.is_open:
            return
        errors: list = []

        def on_message(message: Dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "next":
                payload = message.get("payload") or {}
                if payload.get("errors"):
                    errors.extend(payload["errors"])
                    return
                for fields in (payload.get("data") or {}).get("workAssignedBatches") or []:
                    self._start(Job(connection, fields))
            elif kind == "error":
                # The document was refused before it ran (a bug in this file, or variables too deep).
                self._fatal(GraphQLErrors(message.get("payload")))
            elif kind == "complete":
                if errors:
                    error = GraphQLErrors(errors)
                    if error.code not in RETRYABLE_CODES:
                        # FORBIDDEN (no WORK scope), BAD_USER_INPUT (a queue name, the concurrency).
                        self._fatal(error)
                        return
                    log.warning("workAssignedBatches refused (%s); subscribing again", error)
                # Refused for now, or ended by the gateway: subscribe again after a while.
                task = asyncio.ensure_future(self._resubscribe(connection, attempt + 1))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

        await connection.start(WORK_ASSIGNED, {"queues": self.queues, "concurrency": self.concurrency}, on_message)

    async def _resubscribe(self, connection: Connection, attempt: int) -> None:
        await asyncio.sleep(backoff(attempt))
        try:
            await self._subscribe(connection, attempt)
        except ConnectionLost:
            pass

    def _fatal(self, error: Exception) -> None:
        log.error("cannot work these queues: %s; stopping", error)
        self.exit_status = 1
        if self._shutdown is None:
            self.stop()

    # ---- one job ----

    def _start(self, job: Job) -> None:
        self._jobs.add(job)
        job.task = asyncio.ensure_future(self._work(job))
        job.task.add_done_callback(lambda _: self._jobs.discard(job))

    async def _work(self, job: Job) -> None:
        # Heartbeats start as soon as the job is pushed: it is held from then on, even while it waits for a slot.
        heartbeat = asyncio.ensure_future(self._heartbeat(job)) if job.fields.get("heartbeatSeconds") else None
        try:
            async with self._slots:
                log.debug("job %s/%s started", job.queue, job.id)
                try:
                    if inspect.iscoroutinefunction(self.handler):
                        result = await self.handler(job.fields)
                    else:
                        # A plain function runs in a thread, so that the event loop keeps answering pings.
                        result = await asyncio.to_thread(self.handler, job.fields)
                    kind, variables = "complete", {"queue": job.queue, "id": job.id, "output": to_output(result)}
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.info("job %s/%s failed: %s", job.queue, job.id, error)
                    kind, variables = "fail", {"queue": job.queue, "id": job.id, "error": to_failure(error)}
            if heartbeat:
                heartbeat.cancel()
            await self._settle(job, kind, variables)
        except asyncio.CancelledError:
            log.debug("job %s/%s given up", job.queue, job.id)
        finally:
            if heartbeat:
                heartbeat.cancel()

    async def _settle(self, job: Job, kind: str, variables: Dict[str, Any]) -> None:
        """completeJob / failJob over the job's own connection; retries what may pass later, drops what cannot."""
        attempt = 0
        while True:
            try:
                await job.connection.request(COMPLETE_JOB if kind == "complete" else FAIL_JOB, variables)
                log.debug("job %s/%s %s", job.queue, job.id, "completed" if kind == "complete" else "failed")
                return
            except ConnectionLost:
                log.warning("job %s/%s: connection closed before its %s was answered; dropping it", job.queue, job.id, kind)
                return
            except GraphQLErrors as error:
                if error.code in RETRYABLE_CODES:
                    delay = backoff(attempt, base=0.2, cap=10.0)
                    attempt += 1
                    log.info("job %s/%s: %s refused (%s); retrying in %.1f s", job.queue, job.id, kind, error.code, delay)
                    await asyncio.sleep(delay)
                elif error.code in GONE_CODES:
                    # CONFLICT: the hold moved on (failed back, expired, settled): someone else's job now.
                    log.warning("job %s/%s: %s; dropping it", job.queue, job.id, error)
                    return
                elif error.code == "BAD_USER_INPUT" and kind == "complete":
                    # The output was refused (too large, text PostgreSQL cannot store): fail the job instead.
                    log.warning("job %s/%s: output refused (%s); failing the job", job.queue, job.id, error)
                    kind, variables = "fail", {"queue": job.queue, "id": job.id, "error": {"message": f"output refused: {error}"}}
                else:
                    log.error("job %s/%s: %s failed: %s; dropping it", job.queue, job.id, kind, error)
                    return

    async def _heartbeat(self, job: Job) -> None:
        """touchJob every half of heartbeatSeconds, sooner after a refusal; gives the job up when it moved on."""
        interval = job.fields["heartbeatSeconds"] / 2
        wait = interval
        while True:
            await asyncio.sleep(wait)
            try:
                await job.connection.request(TOUCH_JOB, {"queue": job.queue, "id": job.id})
                wait = interval
            except ConnectionLost:
                return
            except GraphQLErrors as error:
                if error.code in GONE_CODES:
                    log.warning("job %s/%s: touchJob %s; giving the job up", job.queue, job.id, error)
                    if job.task:
                        job.task.cancel()
                    return
                log.warning("job %s/%s: touchJob failed (%s); trying again", job.queue, job.id, error)
                wait = min(2.0, interval / 4)


# ---- the example's handler ----


async def upper_case(job: Dict[str, Any]) -> Dict[str, Any]:
    """Example work: returns the job's `text` upper-cased. Replace it with yours, and keep it idempotent:
    a job can run twice (a worker that lost its connection, a gateway that died)."""
    data = job.get("data") or {}
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str):
        raise JobFailure("data.text must be a string", {"got": type(text).__name__})
    if isinstance(data.get("sleepSeconds"), (int, float)):
        await asyncio.sleep(data["sleepSeconds"])  # a slow job, to see heartbeats and a clean stop at work
    return {"text": text.upper()}


def main() -> int:
    parser = argparse.ArgumentParser(description="A Jobgate worker: upper-cases the `text` of each job.")
    parser.add_argument("queues", nargs="*", help="queues to work (default: $JOBGATE_QUEUES, comma-separated)")
    parser.add_argument("--url", default=os.environ.get("JOBGATE_URL", "ws://localhost:4000/graphql"))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("JOBGATE_CONCURRENCY", "4")))
    parser.add_argument("--stop-timeout", type=float, default=float(os.environ.get("JOBGATE_STOP_TIMEOUT", "30")))
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args()
    queues = args.queues or [name for name in os.environ.get("JOBGATE_QUEUES", "").split(",") if name]
    token = os.environ.get("JOBGATE_TOKEN", "")  # from the environment only: never on the command line or in a log
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # websockets logs frames at DEBUG, connection_init (the token) included: keep it quieter.
    logging.getLogger("websockets").setLevel(max(logging.INFO, logging.getLogger().level))
    if not queues or not token or args.concurrency < 1:
        parser.error("name at least one queue, set JOBGATE_TOKEN, and give a concurrency >= 1")
    worker = Worker(args.url, token, queues, args.concurrency, upper_case, args.stop_timeout)
    return asyncio.run(worker.run())


if __name__ == "__main__":
    sys.exit(main())
