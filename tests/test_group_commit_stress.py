"""The group commit of ``sent`` marks under many sending threads, random delays and random
failures (seeded): every mark is committed exactly once, in the group ``submit`` named; no
``wait`` returns before its group's commit ended, and each raises exactly what that commit
raised; no commit function is used by two threads at once; ``close`` commits what was left
and raises the first failure of a group nobody waited for, and only such a failure."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from digest.jobs.marks import GroupCommit, Mark

MARKS_PER_THREAD = 60


class _CommitFailedError(Exception):
    """A commit's failure, naming the marks it carried."""

    def __init__(self, marks: Sequence[Mark]) -> None:
        super().__init__(f"a commit of {len(marks)} marks failed")
        self.marks = tuple(marks)


class _Commits:
    """Commit functions that sleep a little, fail at random and check how they are used."""

    def __init__(self, seed: int, count: int, failure_rate: float) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.failure_rate = failure_rate
        self.busy = [False] * count
        self.running = 0
        self.most = 0  # commits under way at once, at most
        self.problems: list[str] = []
        self.outcome: dict[int, _CommitFailedError | None] = {}  # mark -> what its commit raised
        self.groups: list[tuple[int, ...]] = []  # the marks of each commit
        self.functions = [self._function(n) for n in range(count)]

    def _function(self, n: int) -> Callable[[Sequence[Mark]], None]:
        def commit(marks: Sequence[Mark]) -> None:
            with self.lock:
                if self.busy[n]:
                    self.problems.append(f"commit {n} used by two threads at once")
                self.busy[n] = True
                self.running += 1
                self.most = max(self.most, self.running)
                delay = self.rng.random() * 0.002
                error = _CommitFailedError(marks) if self.rng.random() < self.failure_rate else None
            time.sleep(delay)
            with self.lock:
                for delivery_id, _ in marks:
                    if delivery_id in self.outcome:
                        self.problems.append(f"mark {delivery_id} committed twice")
                    self.outcome[delivery_id] = error
                self.groups.append(tuple(delivery_id for delivery_id, _ in marks))
                self.busy[n] = False
                self.running -= 1
            if error is not None:
                raise error
        return commit


class _Senders:
    """Sending threads as the outbox's: submit a mark, prepare the next message, then wait
    for the previous mark (sometimes at once, sometimes never: left for ``close``)."""

    def __init__(self, seed: int, marks: GroupCommit, commits: _Commits, count: int) -> None:
        self.seed, self.marks, self.commits, self.count = seed, marks, commits, count
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.group_of: dict[int, int] = {}
        self.seen: list[_CommitFailedError] = []  # failures some waiter raised
        self.left: list[int] = []  # marks nobody waited for
        self.start = threading.Barrier(count)

    def wait(self, mark: int, group: int) -> None:
        raised: _CommitFailedError | None = None
        try:
            self.marks.wait(group)
        except _CommitFailedError as exc:
            raised = exc
        with self.commits.lock:
            if mark not in self.commits.outcome:
                self.problems.append(f"the wait for mark {mark} returned before its commit")
                return
            outcome = self.commits.outcome[mark]
        if outcome is not raised:
            self.problems.append(f"mark {mark}: the wait raised {raised!r}, not {outcome!r}")
        if raised is not None:
            with self.lock:
                self.seen.append(raised)

    def work(self, n: int) -> None:
        rng = random.Random(self.seed * 1000 + n)
        self.start.wait()
        previous: tuple[int, int] | None = None  # a mark and its group, not waited for
        for k in range(MARKS_PER_THREAD):
            mark = n * 1000 + k
            group = self.marks.submit((mark, f"<{mark}@x>"))
            with self.lock:
                self.group_of[mark] = group
            time.sleep(rng.random() * 0.001)  # the next message, staged meanwhile
            if previous is not None:
                self.wait(*previous)
            previous = (mark, group)
            if rng.random() < 0.3:
                self.wait(mark, group)
                previous = None
        if previous is not None and rng.random() < 0.5:
            self.wait(*previous)
        elif previous is not None:
            with self.lock:
                self.left.append(previous[0])


@pytest.mark.parametrize("seed", range(12))
def test_the_group_commit_keeps_its_promises_under_load(seed: int) -> None:
    ways = 1 + seed % 3
    commits = _Commits(seed, ways, failure_rate=0.2)
    marks = GroupCommit(commits.functions)
    senders = _Senders(seed, marks, commits, count=4 + seed % 9)
    threads = [threading.Thread(target=senders.work, args=(n,), daemon=True)
               for n in range(senders.count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a sending thread never came back from a wait"
    closing: BaseException | None = None
    try:
        marks.close()
    except _CommitFailedError as exc:
        closing = exc
    assert senders.problems == [] and commits.problems == []
    every = {n * 1000 + k for n in range(senders.count) for k in range(MARKS_PER_THREAD)}
    assert set(commits.outcome) == every
    assert commits.most <= ways
    numbers = [{senders.group_of[mark] for mark in group} for group in commits.groups]
    assert all(len(number) == 1 for number in numbers), "a commit took two groups' marks"
    assert sorted(number.pop() for number in numbers) == list(range(1, len(numbers) + 1))
    unseen = [error for mark in senders.left
              if (error := commits.outcome[mark]) is not None
              and not any(error is seen for seen in senders.seen)]
    if unseen:
        assert closing is min(unseen, key=lambda error: senders.group_of[error.marks[0][0]])
    else:
        assert closing is None
