"""The controller's side of provisioning: the fleet CA, and each station's certificate and bundle.

- ``ca``        the fleet certificate authority (broker, controller and station certificates)
- ``stations``  a station's CSR and signing key in; its certificate, registration and bundle out
- ``cli``       ``rekam controller ca init`` and ``rekam controller provision``

The station's side is :mod:`station.provisioning`; the bundle between them is
:mod:`protocol.bundle`.
"""
