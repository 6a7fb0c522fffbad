"""What a sweep shows on the terminal: one progress bar over its jobs, no job's own output, a closing summary.

A sweep's jobs run in parallel (joblib's worker processes, submitit's jobs) and
each used to print its own JSON summary and logs to the shared terminal, where
parallel jobs interleaved. Here:

- each job's standard output and error, down to the file descriptors (so C
  libraries, warnings and Hydra's job log are caught too), go to ``job.log`` in
  the job's own run folder, beside its ``summary.json`` (:func:`job_output`);
- the launching process draws one progress bar over the jobs, read from the
  jobs' manifests as they finish (:class:`SweepConsole`), on a copy of the
  terminal's descriptor taken before any job starts, so a job that runs in the
  launching process (Hydra's basic launcher) cannot swallow it;
- at the end it prints how many jobs completed and failed (each failed one with
  its error and log), the sweep folder and the ``collect`` command to run
  (:func:`closing_summary`). ``experiments.run`` exits 1 when a job did not complete.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from sim.io import FINAL_STATUSES, read_manifest

#: Seconds between two looks at the jobs' manifests.
POLL_SECONDS = 0.5
#: The file each job's terminal output goes to, in its run folder.
JOB_LOG = "job.log"


@contextlib.contextmanager
def job_output(folder: Path) -> Iterator[Path]:
    """Send this process's standard output and error to ``folder/job.log`` (appended) while the block runs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / JOB_LOG
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield path
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def finished_jobs(folder: Path) -> tuple[int, int]:
    """(jobs that ended, of which did not complete) among the job folders of a sweep, read from their manifests."""
    ended = failed = 0
    for manifest in Path(folder).glob("*/manifest.json"):
        try:
            status = read_manifest(manifest.parent).get("status")
        except (ValueError, OSError):
            continue
        if status in FINAL_STATUSES:
            ended += 1
            failed += status not in ("completed", "completed_with_failures")
    return ended, failed


class SweepConsole:
    """One progress bar over a sweep's jobs, drawn by a thread that watches the sweep folder.

    Args:
        folder: the sweep folder.
        n_jobs: how many jobs the sweep runs.
        stream: where to draw; by default a copy of the terminal's standard error taken now.
    """

    def __init__(self, folder: Path, n_jobs: int, stream=None):
        self.folder, self.n_jobs = Path(folder), n_jobs
        self.stream = stream if stream is not None else os.fdopen(os.dup(2), "w", buffering=1)
        self._own_stream = stream is None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bar = None
        self._seen = (0, 0)

    def __enter__(self) -> SweepConsole:
        from tqdm.auto import tqdm

        self.stream.write(f"alianzas: sweep of {self.n_jobs} jobs in {self.folder} (each job's output: "
                          f"<job folder>/{JOB_LOG})\n")
        self.bar = tqdm(total=self.n_jobs, desc="sweep jobs", unit="job", file=self.stream, mininterval=POLL_SECONDS,
                        dynamic_ncols=True)
        self._thread = threading.Thread(target=self._follow, name="alianzas-sweep-progress", daemon=True)
        self._thread.start()
        return self

    def _update(self) -> None:
        """Redraw when a job has ended (a log file, not a terminal, gets one line per change, not per poll)."""
        seen = finished_jobs(self.folder)
        if seen == self._seen:
            return
        self._seen = seen
        self.bar.n = min(seen[0], self.n_jobs)
        self.bar.set_postfix(failed=seen[1], refresh=False)
        self.bar.refresh()

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._update()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._update()
        self.bar.close()
        self.stream.flush()

    def print(self, text: str) -> None:
        """Write ``text`` (and a newline) to the terminal the bar was drawn on, and let go of it."""
        self.stream.write(text + "\n")
        self.stream.flush()
        if self._own_stream:
            self.stream.close()


def closing_summary(folder: Path) -> str:
    """The lines a sweep ends with: jobs done and failed (each failed one named), the folder, how to collect it."""
    from experiments.collect import USABLE, read_sweep

    records = read_sweep(folder)
    done = [r for r in records if r.status in USABLE]
    bad = [r for r in records if r.status not in USABLE]
    lines = [f"alianzas: sweep finished: {len(done)} of {len(records)} jobs completed, {len(bad)} did not "
             f"complete.", f"  sweep folder: {folder}"]
    for r in bad:
        log = r.run_folder / JOB_LOG
        lines.append(f"  did not complete: {r.run_folder.name}: {r.status}" + (f": {r.error}" if r.error else "")
                     + (f" (log: {log})" if log.is_file() else ""))
    lines.append(f"  table of every job: python -m experiments.collect {folder}")
    if bad:
        lines.append(f"  rerun what did not complete: python -m experiments.run resume={folder}")
    return "\n".join(lines)
