"""The parts of ``scripts/bench`` and ``scripts/bench_reports`` (the two entry points keep
only their options and ``--help``):

- ``boot``: the benchmark's stack (databases, Redis, services, workers, beat, nginx
  with the ceiling's ping location);
- ``seeding``: users, tokens, projects and tasks;
- ``wrk``: driving wrk and the CPU each process family spends per request;
- ``phases``: the ceiling and P1-P4 under wrk, P7's event lag, P5/P6 through
  scripts/bench_reports;
- ``figures``: the pure parts (wrk's report, Prometheus counters, percentiles, tables);
- ``results``: the targets, the table's rows and the JSON under bench/results/;
- ``run``: one run of scripts/bench, start to clean-up;
- ``reports``: scripts/bench_reports (P5/P6) end to end.

Processes, waits, databases and nginx come from ``scripts/toolkit``; the services'
commands from ``scripts/stack.py``.
"""
