"""The ZhianTec/Grow UART fingerprint family (R307, R503, AS608, FPM10A).

Protocol, without I/O: ``codes`` (the numbers), ``codec`` (frames, data
transfers, image packing), ``messages`` (commands and acknowledges).
The real driver over pyserial: ``driver``, with its template-library
operations in ``library``. The module on a pseudo-terminal: ``simulator``
(with the ``zhiantec-emulated`` registry factory) and ``sim_instructions``.
What the station config may set: ``options``.
"""
