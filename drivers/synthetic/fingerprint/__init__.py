"""Synthetic fingerprints: ridge patterns, captures, and templates made from pixels.

Callers import this package (``from drivers.synthetic import fingerprint``)
and use the names below; the modules behind them are its own business.
"""

from drivers.synthetic.fingerprint.rendering import (
    DPI,
    MATCH_THRESHOLD,
    FingerDesign,
    RidgeAnalysis,
    analyse,
    finger_design,
    match_score,
    render,
    render_cost_ms,
    template_from_analysis,
    template_from_image,
)

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
