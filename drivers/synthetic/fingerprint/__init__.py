"""Synthetic fingerprints: ridge patterns, captures, and templates made from pixels.

Owns three things every fingerprint simulator shares, one module each:

* :mod:`~.rendering`: :func:`render` draws one capture of one finger as an
  optical sensor gives it, from the finger's fixed master ridge pattern, with
  its condition (smudged, partial, dry) in the pixels.
* :mod:`~.templates`: :func:`analyse` and :func:`template_from_image` read a
  template back FROM THE PIXELS, so a bad capture gives a bad template
  without anyone being told.
* :mod:`~.matching`: :func:`match_score` says how alike two templates are.

(:mod:`~.filters` holds the oriented band-pass filtering the first two share.)
Callers import this package (``from drivers.synthetic import fingerprint``)
and use the names below. Rules: deterministic per (person id, position) and
capture seed; nothing here logs or prints pixels or template bytes.
"""

from drivers.synthetic.fingerprint.matching import MATCH_THRESHOLD, match_score
from drivers.synthetic.fingerprint.rendering import DPI, FingerDesign, finger_design, render, render_cost_ms
from drivers.synthetic.fingerprint.templates import RidgeAnalysis, analyse, template_from_analysis, template_from_image

__all__ = [
    "DPI",
    "MATCH_THRESHOLD",
    "FingerDesign",
    "RidgeAnalysis",
    "analyse",
    "finger_design",
    "match_score",
    "render",
    "render_cost_ms",
    "template_from_analysis",
    "template_from_image",
]
