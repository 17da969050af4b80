"""Biometric de-duplication in the fleet: one resident enrolled twice under different NIKs.

:mod:`~.descriptor` turns the templates the devices produce into fixed-length
vectors; :mod:`~.index` searches a campaign's vectors 1:N in one vectorised
pass; :mod:`~.sealed` keeps the index on disk only encrypted.
"""
