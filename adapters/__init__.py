"""The I/O both programs share, and nothing else.

- ``files``      atomic writes and private-key files
- ``sqlite``     the SQLite opener: WAL, synchronous=FULL, counted nested
                 transactions, numbered migrations, errors mapped once
- ``configfile`` TOML files validated into msgspec Structs
- ``sdnotify``   systemd readiness and watchdog
- ``link``       one small MQTT interface, implemented once over paho
- ``mocklink``   the same interface in memory, for tests
- ``version``    this installation's version, from the package metadata

No business rules live here. Library errors are mapped into the caller's
exception family (each opener takes the error class to raise), so a station
sees only StationErrors and a controller only ControllerErrors; the MQTT link
raises :class:`adapters.errors.LinkError`.
"""
