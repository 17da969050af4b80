"""Synthetic biometrics for the simulators.

Deterministic per person and finger (the same resident re-enrolling is
recognisably the same), with noise per capture. Quality problems are rendered
into the pixels and samples; nothing downstream is told about them.
"""
