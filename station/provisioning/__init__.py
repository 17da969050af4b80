"""The station's side of provisioning: make its keys, then check and install its bundle.

- ``paths``        where keys and certificates go
- ``keygen``       the two private keys and the CSR
- ``install``      checking and installing the bundle (:mod:`protocol.bundle`)
- ``config_edit``  rewriting station.toml, keeping its comments
- ``cli``          ``rekam station keygen`` and ``rekam station install-bundle``

Rules:

* Both private keys are made here and never leave: the Ed25519 signing key
  (packets) and the EC P-256 MQTT client key (TLS). They are written
  atomically with mode 0600 in 0700 directories; only the signing key's
  public half and a CSR (CN = station id) go to the controller.
* Existing keys are never replaced without ``force``: packets in the outbox
  were signed with the old key, and the controller knows only that one.
* A bundle is checked completely before anything is written: it is for this
  station; its client certificate chains to the bundled CA (RFC 5280 path
  validation, clientAuth), names this station, and holds the public half of
  this station's MQTT key; the controller registered this station's signing
  key; the controller's public key parses and offers the configured suite.
  If the technician passes the CA fingerprint the controller printed, it must
  match (the bundle is the station's trust anchor; a swapped bundle would
  point the station at someone else's broker and keys).
* The config is rewritten atomically, line by line, so comments and layout
  stay; the result is parsed and validated before it replaces the original.
* When run as root, new files take the owner of the data directory, so the
  ``rekam`` service user can read what a technician installed with sudo.
"""
