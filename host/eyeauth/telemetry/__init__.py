"""Field telemetry: the board's ``T``/``H``/``L`` frames into SQLite, and what they tell.

- :mod:`~eyeauth.telemetry.store`: the database (schema in its docstring and SCHEMA.md) and
  :class:`~eyeauth.telemetry.store.TelemetryStore`, its writer;
- :func:`eyeauth.telemetry.monitor.monitor`: live capture from a port, surviving unplug/replug;
- :func:`eyeauth.telemetry.report.report`: latency/memory tables, CSV and PNG plots;
- :mod:`~eyeauth.telemetry.export`: OpenMetrics text and CSV.

Submodules are imported on use (matplotlib and pyserial load only when needed).
"""
