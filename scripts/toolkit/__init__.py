"""What the scripts and the tests' fixtures need to run the platform's parts as real
processes, written once:

- ``waiting``: polling until something holds (a probe, an open port, an answer, a line
  in a log);
- ``processes``: a free loopback port, one supervised child process (its own process
  group and log file; started, waited for, stopped with SIGTERM then SIGKILL) and a
  supervisor that stops a set of them together;
- ``databases``: PostgreSQL databases created, ensured and dropped;
- ``nginx``: the files in ``nginx/`` rendered for a local run, the command running them,
  and which gateway a local run uses (``pick_gateway``: nginx when installed, else the
  Python fallback);
- ``streams``: clients of the live stream (Server-Sent Events and WebSocket).

What the platform *is* (its services, their commands and databases) is ``scripts/stack.py``.
"""
