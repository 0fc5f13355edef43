"""Running a test's work in several threads at once, switching between them often."""
import sys
import threading


def run_in_threads(work, n=4):
    """Run ``work()`` in ``n`` threads at once with a tiny switch interval, so that races
    between them show up reliably; return when all have finished."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
