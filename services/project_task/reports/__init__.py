"""Aggregates for the reporting service (``/internal/reports/*``; ``X-Service-Token``,
nginx never routes them).

Every figure is a SQL aggregate (``GROUP BY`` and ``COUNT(*) FILTER``), never a loop over
task rows, and uses the same definitions as the task API, so a report's numbers equal what
the API's lists count:

- *open*: status not ``done`` or ``cancelled``;
- *overdue*: open with a due date before today (UTC), as ``?overdue=true``;
- *due this week*: open with a due date from today to this ISO week's Sunday;
- *completion rate*: done / (all tasks - cancelled), 0 when there is none;
- *hours*: minutes of time entries / 60, to two places (a task's ``spent_minutes`` is
  the sum of its entries).

``queries.py`` runs the aggregates (``timesheet.py`` those of the timesheet), ``tally.py`` folds their rows into the figures,
``resources.py`` serves them, dumped with the contracts of
:mod:`services.common.report_contract`. Access is the caller's business: the reporting
service checks who may see what (through ``/internal/projects/{id}/access``) before it
asks for a project's figures. ``user_id`` is taken literally, as on the other internal
endpoints.
"""
