"""A parsing process that misbehaves on purpose, for tests/test_sources_processes.py: it
hangs on a feed whose bytes say HANG and kills itself on one that says CRASH, and parses
any other feed as the real one does, adding the problem "parsed apart" to tell its
answers from the polling process's own."""

from __future__ import annotations

import os
import signal
import time

from digest.sources.parse_process import Answer, Job, answer, main


def misbehave(job: Job) -> Answer:
    data = job[1].data
    if b"HANG" in data:
        time.sleep(600)
    if b"CRASH" in data:
        os.kill(os.getpid(), signal.SIGKILL)
    reply = answer(job)
    return (*reply[:2], [*reply[2], "parsed apart"]) if reply[0] == "items" else reply


if __name__ == "__main__":
    main(respond=misbehave)
