"""Quality gates of the enrollment workflow: face, finger and signature.

Each gate measures a capture from its pixels or pen samples alone and returns
a :class:`GateResult`; thresholds are the config's ``[quality.*]`` tables, decoded into
the models of :mod:`station.quality.thresholds` as the config loads. Each gate module's
``PROBLEMS`` lists its reason ids, most important first (re-exported here
as ``FACE_PROBLEMS``, ``FINGER_PROBLEMS`` and ``SIGNATURE_PROBLEMS``; the
operator screens translate them as ``q.<id>``). :data:`UNFORCEABLE` names the
problems that forbid keeping a capture as forced (``no_face`` among them:
a face photo without a face is never sealed); ``GateResult.forceable`` says
it for one result.
"""

from station.quality.face import PROBLEMS as FACE_PROBLEMS
from station.quality.face import check_face, expected_background
from station.quality.finger import PROBLEMS as FINGER_PROBLEMS
from station.quality.finger import check_finger
from station.quality.result import UNFORCEABLE, GateResult
from station.quality.signature import PROBLEMS as SIGNATURE_PROBLEMS
from station.quality.signature import check_signature
from station.quality.thresholds import (
    FaceThresholds,
    FingerThresholds,
    QualityThresholds,
    SignatureThresholds,
    thresholds_from_config,
)

__all__ = [
    "FACE_PROBLEMS",
    "FINGER_PROBLEMS",
    "SIGNATURE_PROBLEMS",
    "FaceThresholds",
    "FingerThresholds",
    "GateResult",
    "QualityThresholds",
    "SignatureThresholds",
    "UNFORCEABLE",
    "check_face",
    "check_finger",
    "check_signature",
    "expected_background",
    "thresholds_from_config",
]
