"""bench.proc_cpu: a server's CPU split into its processes' main threads (sketchq's event loops) and the rest (its
engine threads), as bench/load.py reads it around the measured window."""

import subprocess
import sys

from bench.proc_cpu import tree_cpu_seconds, tree_main_thread_cpu_seconds

# A child whose second thread burns about 0.4 s of CPU while its main thread waits, then says so and waits for stdin.
CHILD = """
import sys, threading, time
def burn():
    end = time.process_time() + 0.4
    while time.process_time() < end:
        pass
t = threading.Thread(target=burn)
t.start()
t.join()
print("burnt", flush=True)
sys.stdin.read()
"""


def test_the_main_threads_share_leaves_out_the_other_threads():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "burnt"
        whole, main = tree_cpu_seconds(child.pid), tree_main_thread_cpu_seconds(child.pid)
        assert whole >= 0.35  # the burning thread's CPU counts in the whole ...
        assert main < whole - 0.3  # ... not in the main thread's (start-up and imports only)
    finally:
        child.communicate("")
    assert tree_main_thread_cpu_seconds(child.pid) == 0.0  # gone: nothing to count
