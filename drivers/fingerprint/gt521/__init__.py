"""The ADH-Tech GT-521F32/F52 UART fingerprint module.

``codec`` holds its packets (no I/O), ``driver`` the real driver over
pyserial, ``simulator`` the module on a pseudo-terminal with the
``gt521-emulated`` registry factory.
"""
