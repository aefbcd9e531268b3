"""Worker mode (``workers.enabled``): the jobs run on procrastinate, over the store's
PostgreSQL, by any number of ``digest worker`` processes (docs/deploy.md).

An entry point like ``cli/`` and the scheduler: ``app`` (the procrastinate App and the task
names), ``tasks`` (each task a short call into ``digest.jobs``), ``queue`` (deferring
jobs with their locks), ``service`` (what ``digest serve`` queues), ``waiting`` (``run
--once [--wait]``), ``rendering`` (a send job's rendered variants), ``worker`` (``digest
worker``). procrastinate is imported only here, so a command in one process never loads it.
"""
