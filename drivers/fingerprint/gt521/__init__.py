"""The ADH-Tech GT-521F32/F52 UART fingerprint module.

Protocol, without I/O: ``codes`` (the numbers) and ``codec`` (packets,
builders, parsers, NACKs as errors). The real driver over pyserial:
``driver``. The module on a pseudo-terminal: ``simulator`` (with the
``gt521-emulated`` registry factory) and ``sim_commands``. What the station
config may set: ``options``.
"""
