"""bench.run.training_running: a matching job counts while it runs, not while it is paused with SIGSTOP (the
benchmarks' notes pause training for a quiet machine and record whether a job was running)."""

import os
import signal
import subprocess
import sys
import uuid

from bench.run import training_running


def test_a_paused_job_does_not_count_and_a_resumed_one_does():
    marker = f"bench-training-probe-{uuid.uuid4().hex}"
    assert not training_running(marker)
    job = subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(60)", marker])
    try:
        assert training_running(marker)
        os.kill(job.pid, signal.SIGSTOP)
        os.waitpid(job.pid, os.WUNTRACED)  # returns once the job is stopped
        assert not training_running(marker)
        os.kill(job.pid, signal.SIGCONT)
        assert training_running(marker)
    finally:
        job.kill()
        job.wait()
    assert not training_running(marker)
