"""An emulated central Dukcapil system: receives sealed export batches over HTTPS, answers with statuses.

Used by the tests and the demo as the real thing would be used: a separate
HTTP(S) service (Starlette on uvicorn, a self-signed certificate made at
start) with its own HPKE key, its own store, and a print schedule held back
by a simulated stock of blank cards. The controller never imports it.
"""
