"""The hand-off to the central system, one module per step.

:mod:`~.nist` maps a record to an ANSI/NIST-ITL 1-2011 transaction (the one
place that knows the fields); :mod:`~.convert` opens packets and builds
transactions in worker processes; :mod:`~.sealing` seals batches to the
centre and signs their manifests; :mod:`~.exporter` runs an export;
:mod:`~.client` is the HTTPS client; :mod:`~.delivery` pushes, polls,
publishes statuses and purges; :mod:`~.worker` does all that inside
``rekam controller run``; :mod:`~.keys` and :mod:`~.cli` are the key files
and the commands.
"""
