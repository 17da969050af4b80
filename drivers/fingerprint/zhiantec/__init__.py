"""The ZhianTec/Grow UART fingerprint family (R307, R503, AS608, FPM10A).

``codes`` holds the protocol's numbers, ``codec`` its frames (no I/O),
``driver`` the real driver over pyserial, ``simulator`` the module on a
pseudo-terminal with the ``zhiantec-emulated`` registry factory.
"""
