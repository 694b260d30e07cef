"""When p4core began loading: imported first by the package, so the command line's ``start-up`` timing counts
the imports, Hydra's composition and (as the CPU the interpreter had used by then) the interpreter's own
start-up — not the process's start time, which in a container is read on another clock."""

import time

#: (perf_counter when p4core began loading, process CPU seconds by then)
START = (time.perf_counter(), time.process_time())
