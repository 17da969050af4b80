"""The demo fleet: a broker, a controller and emulated stations on Solo's kelurahan."""
