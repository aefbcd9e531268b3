"""Start-up benchmark: how long and how large a command that renders nothing starts.

Issue 13 asks `digest status`, `digest collect` (up to the moment it starts polling) and
`digest worker` (waiting for jobs) to start in at most 0.3 s and 50 MB. Each command runs
in a fresh process, as a user starts it, repeated and interleaved with baselines measured
in the same run, so the ratios hold on a busy machine: `python -c pass` (the interpreter)
and `python -c "import sqlalchemy"` (the store's library, which every command needs), plus
the libraries a PostgreSQL command and a worker cannot do without. Wall time is from the
spawn to the exit (the worker: to its "worker ready" line); peak RSS is the child's
``ru_maxrss`` (the worker: ``VmHWM``); CPU time (user + system) is steadier than wall time
when other jobs share the cores.

The sample's config runs on a private copy with SQLite; its bulletins are left out of the
`status` rows, since `status` renders each bulletin to lint it (a row with them shows that
cost). Byte code is compiled once before measuring (into a private cache folder), as an
installed package has it. `collect` stops at its first poll: ``jobs.collect.poll_sources``
is replaced, in the child, by an immediate exit.

Run: ``.venv/bin/python benchmarks/startup.py [--repeat 10] [--postgres URL] [--compare DIR]``
(a URL of an empty database: `status` on PostgreSQL and, when the command exists, `worker`;
DIR another checkout, e.g. ``git archive main``, measured in the same run).
docs/benchmarks.md ("Start-up") records the results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
NOW = "2019-03-18T08:00:00+01:00"

# Starts a command and measures it: a small process of its own forks it, so the child's
# peak RSS starts from this launcher's few MiB, not from the benchmark's (a process keeps
# the peak of the memory it was forked with across exec).
LAUNCHER = """
import os, sys, time
errors, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.dup2(os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status))
"""

# What every command needs before any code of this product runs: the store's library and
# what reading the config needs (YAML, pydantic with one model built: its first model loads
# the most). A plain config's addresses and cron expressions need no library of their own.
LIBRARIES = ("import sqlalchemy, yaml\nfrom pydantic import BaseModel\n"
             "class Model(BaseModel):\n    value: int")

# In the child: the collect job's first poll ends the process (time to first work).
COLLECT_TO_POLL = """
import os, sys
import digest.jobs.collect as job
if not hasattr(job, "poll_sources"):
    sys.exit("benchmarks/startup.py: digest.jobs.collect.poll_sources is gone: adapt")
def first_poll(*args, **kwargs):
    sys.stdout.flush()
    os._exit(0)
job.poll_sources = first_poll
from digest.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class Case:
    """One command line, and what each run of it measured."""

    label: str
    argv: list[str]
    ready: str | None = None  # a long-running command: measured up to this stdout line
    env: dict[str, str] = field(default_factory=dict)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)  # user + system: steadier under load
    peaks: list[float] = field(default_factory=list)  # MiB

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    @property
    def peak(self) -> float:
        return statistics.median(self.peaks)


def run_once(case: Case, cwd: Path, env: dict[str, str]) -> None:
    """Run the case's command once in a fresh process; record wall time and peak RSS."""
    environment = {**env, **case.env}
    if case.ready is None:
        errors = cwd / "stderr.txt"
        measured = subprocess.run([PY, "-I", "-S", "-c", LAUNCHER, str(errors), *case.argv],
                                  cwd=cwd, env=environment, capture_output=True, text=True,
                                  check=True)
        wall, cpu, peak, code = measured.stdout.split()
        if int(code) not in (0, 1):
            raise SystemExit(f"{case.label}: exit {code}: {errors.read_text()[-800:]}")
        case.walls.append(float(wall))
        case.cpus.append(float(cpu))
        case.peaks.append(int(peak) / 1024)
        return
    started = time.perf_counter()
    child = subprocess.Popen(case.argv, cwd=cwd, env=environment, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    for line in child.stdout:
        if case.ready in line:
            break
    else:
        raise SystemExit(f"{case.label}: exited before {case.ready!r}: "
                         f"{child.communicate()[1][-800:]}")
    wall = time.perf_counter() - started
    ticks = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    hwm = [row for row in Path(f"/proc/{child.pid}/status").read_text().splitlines()
           if row.startswith("VmHWM:")]
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=120)
    case.walls.append(wall)
    case.cpus.append(cpu)
    case.peaks.append(int(hwm[0].split()[1]) / 1024)


def project_in(folder: Path) -> tuple[Path, Path]:
    """A private copy of the sample: its config, and the same without its bulletins."""
    shutil.copy(ROOT / "schedules.yaml", folder / "schedules.yaml")
    shutil.copytree(ROOT / "sample", folder / "sample")
    text = (folder / "schedules.yaml").read_text()
    quiet = folder / "no-bulletins.yaml"
    quiet.write_text("\n".join(line for line in text.splitlines()
                               if not line.startswith("bulletins:")) + "\n")
    return folder / "schedules.yaml", quiet


def has_worker_command(env: dict[str, str]) -> bool:
    found = subprocess.run([PY, "-m", "digest", "worker", "--help"], env=env,
                           capture_output=True, check=False)
    return found.returncode == 0


def cases(config: Path, quiet: Path, postgres: str | None, env: dict[str, str]) -> list[Case]:
    """The baselines, then the commands."""
    digest = [PY, "-m", "digest", "--now", NOW]
    found = [
        Case("python -c pass", [PY, "-c", "pass"]),
        Case("python -c 'import sqlalchemy'", [PY, "-c", "import sqlalchemy"]),
        Case("the libraries reading any config and store (SQLAlchemy, PyYAML, pydantic "
             "with a model built)", [PY, "-c", LIBRARIES]),
        Case("python -c 'import sqlalchemy, psycopg'", [PY, "-c", "import sqlalchemy, psycopg"]),
        Case("python -c 'import sqlalchemy, procrastinate'",
             [PY, "-c", "import sqlalchemy, procrastinate"]),
        Case("`reader`: open a store, list feeds",
             [PY, "-c", "import sys, reader; r = reader.make_reader(sys.argv[1]); "
                        "list(r.get_feeds()); r.close()", str(config.parent / "reader.db")]),
        Case("digest status (SQLite)", [*digest, "--config", str(quiet), "status"]),
        Case("digest collect, to its first poll (SQLite)",
             [PY, "-c", COLLECT_TO_POLL, "--now", NOW, "--config", str(config), "collect"]),
        Case("digest collect, whole (the sample's 5 local sources)",
             [*digest, "--config", str(config), "collect"]),
        Case("digest status with the sample's bulletin (rendered to lint)",
             [*digest, "--config", str(config), "status"]),
    ]
    if postgres:
        pg = {"DIGEST_DATABASE_URL": postgres}
        found.append(Case("digest status (PostgreSQL)",
                          [*digest, "--config", str(quiet), "status"], env=pg))
        if has_worker_command(env):
            workers = config.parent / "workers.yaml"
            workers.write_text(quiet.read_text() + "\nworkers: {enabled: true}\n")
            subprocess.run([*digest, "--config", str(workers), "db", "upgrade"],
                           env={**env, **pg}, check=True, capture_output=True)
            # A worker refuses to start without the key that `serve` signs links with.
            found.append(Case("digest worker, to `worker ready` (PostgreSQL)",
                              [*digest, "--config", str(workers), "worker"],
                              ready="worker ready",
                              env={**pg, "DIGEST_SECRET_KEY": "startup-benchmark-key-" * 2}))
    return found


def table(found: list[Case]) -> str:
    base, sqla = found[0], found[1]
    rows = ["| command | wall s (median / min) | CPU s | peak RSS MiB | wall ÷ `pass` | "
            "wall ÷ `import sqlalchemy` | CPU ÷ `import sqlalchemy` | "
            "RSS ÷ `import sqlalchemy` |",
            "|---|---|---|---|---|---|---|---|"]
    rows += [f"| {case.label} | {case.wall:.3f} / {min(case.walls):.3f} | {case.cpu:.3f} | "
             f"{case.peak:.1f} | {case.wall / base.wall:.1f} | {case.wall / sqla.wall:.2f} | "
             f"{case.cpu / sqla.cpu:.2f} | {case.peak / sqla.peak:.2f} |" for case in found]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command")
    parser.add_argument("--postgres", metavar="URL",
                        help="an empty PostgreSQL database: status and worker on it too")
    parser.add_argument("--compare", metavar="DIR", type=Path,
                        help="another checkout (e.g. `git archive` of main): its commands "
                             "measured in the same run, for a before/after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="digest-startup-") as temporary:
        folder = Path(temporary)
        config, quiet = project_in(folder)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DIGEST_") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(folder / "pycache"))
        found = cases(config, quiet, args.postgres, env)
        if args.compare:
            found += [Case(f"{case.label} [{args.compare.name}]", case.argv, case.ready,
                           {**case.env, "PYTHONPATH": str(args.compare.resolve())})
                      for case in found if "digest" in case.label.split()[0]]
        for case in found:  # byte code compiled, store made (with Alembic): not measured
            run_once(case, folder, env)
            case.walls.clear()
            case.cpus.clear()
            case.peaks.clear()
        load_before = os.getloadavg()
        for _ in range(args.repeat):  # interleaved: a burst of load hits every case alike
            for case in found:
                run_once(case, folder, env)
        load_after = os.getloadavg()
    print(f"{args.repeat} runs each, interleaved; load average before "
          f"{load_before[0]:.2f} / after {load_after[0]:.2f} (1 min), {os.cpu_count()} cores")
    print(table(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
