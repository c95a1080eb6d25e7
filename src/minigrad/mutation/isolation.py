"""Run tasks in forked children: isolated, timed out, in parallel, never writing to disk.

Isolation: each task runs in a child process forked for it alone, so a task
that corrupts the interpreter, hangs or segfaults takes only its own child
down.  A child that does not answer in time is killed (Timeout); one that dies
without a verdict is a RuntimeError.

`run_pooled` adds `jobs` long-lived worker processes that do the forking, so
the forks of a campaign run in parallel instead of one after another in the
parent; the parent only hands out task numbers and collects verdicts.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import select
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Task", "run_isolated", "run_pooled"]


Task = Callable[[], dict[str, Any]]


def _child(task: Task, fd: int) -> None:
    """Run `task` in the forked child, send its JSON verdict down `fd`, and exit at once."""
    try:
        faulthandler.disable()  # a crashing mutant is a verdict, not a traceback to print
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        payload = task()
    except BaseException as err:  # the mutant broke the child: that is the verdict
        payload = {"outcome": "RuntimeError", "reason": f"{type(err).__name__}: {err}"}
    _write_all(fd, json.dumps(payload).encode())
    os._exit(0)


def _write_all(fd: int, message: bytes) -> None:
    """os.write may write part of a message to a pipe: write the rest too."""
    data = memoryview(message)
    while data:
        data = data[os.write(fd, data) :]


@dataclass
class _Running:
    key: str
    pid: int
    started: float
    chunks: list[bytes] = field(default_factory=list)


def _verdict_of_dead_child(job: _Running, status: int) -> dict[str, Any]:
    if job.chunks:
        result: dict[str, Any] = json.loads(b"".join(job.chunks))
        return result
    return _dead_child_verdict(status)


def _dead_child_verdict(status: int) -> dict[str, Any]:
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return {"outcome": "RuntimeError", "reason": f"the interpreter died with {name}"}
    code = os.WEXITSTATUS(status)
    return {
        "outcome": "RuntimeError",
        "reason": f"the interpreter exited with {code} without a verdict",
    }


def run_isolated(
    tasks: Iterable[tuple[str, Task]],
    *,
    jobs: int,
    timeout: float,
    on_done: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run each task in its own forked child, `jobs` at a time, each within `timeout` seconds."""
    pending = deque(tasks)
    running: dict[int, _Running] = {}
    results: dict[str, dict[str, Any]] = {}

    def finish(fd: int, verdict: dict[str, Any]) -> None:
        job = running.pop(fd)
        os.close(fd)
        verdict["seconds"] = time.monotonic() - job.started
        results[job.key] = verdict
        if on_done is not None:
            on_done(job.key, verdict)

    try:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                key, task = pending.popleft()
                read_fd, write_fd = os.pipe()
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child never returns
                    os.close(read_fd)
                    _child(task, write_fd)
                os.close(write_fd)
                now = time.monotonic()
                running[read_fd] = _Running(key, pid, now)
            deadline = min(job.started for job in running.values()) + timeout
            wait = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select(list(running), [], [], wait)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    running[fd].chunks.append(chunk)
                    continue
                _, status = os.waitpid(running[fd].pid, 0)
                finish(fd, _verdict_of_dead_child(running[fd], status))
            now = time.monotonic()
            for fd, job in list(running.items()):
                if now >= job.started + timeout:
                    os.kill(job.pid, signal.SIGKILL)
                    os.waitpid(job.pid, 0)
                    finish(
                        fd, {"outcome": "Timeout", "reason": f"no verdict within {timeout:.1f} s"}
                    )
    finally:  # interrupted: take every child down with us
        for fd, job in running.items():
            try:
                os.kill(job.pid, signal.SIGKILL)
                os.waitpid(job.pid, 0)
            except ProcessLookupError:
                pass
            os.close(fd)
    return results


# --- a pool of forking workers ---------------------------------------------------


def _worker(tasks: Sequence[tuple[str, Task]], commands: int, answers: int) -> None:
    """In a worker: for each task number read, judge that task in its own child, answer."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # lets run_isolated kill its child
    stream = os.fdopen(commands, "rb")
    for line in stream:
        index_text, _, limit_text = line.decode().partition(" ")
        key, task = tasks[int(index_text)]
        verdict = run_isolated([(key, task)], jobs=1, timeout=float(limit_text))[key]
        message = {"index": int(index_text), "verdict": verdict}
        _write_all(answers, json.dumps(message).encode() + b"\n")
    os._exit(0)


@dataclass
class _Worker:
    pid: int
    commands: int  # parent writes task numbers here
    answers: int  # parent reads verdict lines here
    task: int | None = None
    buffer: bytes = b""


def _spawn(tasks: Sequence[tuple[str, Task]]) -> _Worker:
    command_read, command_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the worker never returns
        os.close(command_write)
        os.close(answer_read)
        try:
            _worker(tasks, command_read, answer_write)
        finally:
            os._exit(1)
    os.close(command_read)
    os.close(answer_write)
    return _Worker(pid, command_write, answer_read)


def run_pooled(
    tasks: Sequence[tuple[str, Task]],
    *,
    jobs: int,
    timeout: float,
    on_done: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Like run_isolated, but `jobs` worker processes fork the children, in parallel."""
    results: dict[str, dict[str, Any]] = {}
    pending = deque(range(len(tasks)))
    workers: dict[int, _Worker] = {}

    def dispatch(worker: _Worker) -> None:
        if pending:
            worker.task = pending.popleft()
            os.write(worker.commands, f"{worker.task} {timeout}\n".encode())
        else:
            worker.task = None

    def record(index: int, verdict: dict[str, Any]) -> None:
        key = tasks[index][0]
        results[key] = verdict
        if on_done is not None:
            on_done(key, verdict)

    try:
        for _ in range(max(1, min(jobs, len(tasks)))):
            worker = _spawn(tasks)
            workers[worker.answers] = worker
            dispatch(worker)
        while any(w.task is not None for w in workers.values()):
            ready, _, _ = select.select(
                [fd for fd, w in workers.items() if w.task is not None], [], []
            )
            for fd in ready:
                worker = workers[fd]
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # the worker itself died: its task failed, start another worker
                    os.close(fd)
                    os.close(worker.commands)
                    _, status = os.waitpid(worker.pid, 0)
                    del workers[fd]
                    if worker.task is not None:
                        record(worker.task, _dead_child_verdict(status))
                    if pending:
                        fresh = _spawn(tasks)
                        workers[fresh.answers] = fresh
                        dispatch(fresh)
                    continue
                worker.buffer += chunk
                *lines, worker.buffer = worker.buffer.split(b"\n")
                for line in lines:
                    message = json.loads(line)
                    record(message["index"], message["verdict"])
                    dispatch(worker)
    finally:  # done or interrupted: stop every worker; each takes its own child down
        for worker in workers.values():
            os.close(worker.commands)
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
            os.waitpid(worker.pid, 0)
            os.close(worker.answers)
    return results
