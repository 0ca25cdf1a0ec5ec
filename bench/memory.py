"""Peak resident memory of the current process, for benchmarks that run in a child process.

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is not enough there: on Linux a process
started by fork and exec can report its parent's high-water mark (a benchmark driver that
already holds hundreds of MB makes every child look as large). The kernel's ``VmHWM`` in
``/proc/self/status`` belongs to the process's own address space, so it is read first.
"""

from __future__ import annotations

import resource


def own_peak_rss_mb() -> float:
    """This process's peak resident set size in MB (VmHWM; ru_maxrss where /proc is absent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
