"""The face gate: is this JPEG a usable e-KTP portrait?

Owns measuring a portrait from its pixels alone (never from what the camera
or a simulator says about it) and judging the measures against
:class:`~station.quality.thresholds.FaceThresholds`. The measures:

* exposure: mean luma, and the share of pixels with a channel clipped at the
  top of the range;
* faces: found by a trained face detector (OpenCV's Haar cascade, see
  :mod:`station.quality.detector`); the largest is the resident's, any other
  is someone else (``multiple_faces``); none is ``no_face``;
* framing: the resident's face box width relative to the frame width, and
  how far its centre sits from the vertical centre line and the expected
  height;
* sharpness: energy of the Laplacian inside the face box, relative to its
  brightness (so a dim face is not called blurred);
* eyes (ICAO-style pose): a pair of eyes found in the face
  (``eyes_not_visible`` when not), level and centred in it (``not_frontal``
  when the line through them is tilted or their midpoint has slid towards
  one side, as when the head turns);
* backdrop: the share of vividly red and vividly blue pixels in the two top
  corners (above any head), against the e-KTP rule for the birth year.

Rules: the JPEG is decoded once at reduced size (the JPEG decoder's own DCT
scaling, then a fixed 240 px working width) so the gate costs a few
milliseconds plus the detector's; ``no_face`` is reported whenever the
detector finds no face, whatever else is wrong, because a capture without a
face must never be sealed (it is in :data:`~station.quality.result.UNFORCEABLE`);
when the exposure is bad, the other failed face checks lower the score but
are not reported (the exposure explains them); nothing here logs, and
measures are numbers, never pixels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from drivers.types import Image, ImageFormat
from station.quality import detector
from station.quality.result import Check, GateResult, at_least, at_most, combine, unmeasured
from station.quality.thresholds import FaceThresholds

#: Most important first: a bad exposure explains everything after it, no face
#: makes framing moot, blur explains unseen eyes, and the backdrop is the last
#: thing to fix.
PROBLEMS: tuple[str, ...] = (
    "image_unreadable",
    "underexposed",
    "overexposed",
    "no_face",
    "multiple_faces",
    "face_too_small",
    "off_centre",
    "blurred",
    "eyes_not_visible",
    "not_frontal",
    "wrong_background",
)
BACKGROUNDS = ("red", "blue")

#: Working size of the luma image (width); exposure and backdrop use half of it.
_WORK_W = 240
#: Where the centre of the resident's face box should sit, as a fraction of the frame height.
_EXPECTED_FACE_Y = 0.45
#: Another face counts when it overlaps the resident's by less than this (else it is the same face).
_SAME_FACE_OVERLAP = 0.3


def expected_background(birth_year: int) -> str:
    """The e-KTP photo rule: red backdrop for odd birth years, blue for even."""
    return "red" if birth_year % 2 else "blue"


def check_face(image: Image, thresholds: FaceThresholds, *, expected_background: str) -> GateResult:
    """Measure a portrait and judge it; see the module docstring for what is measured."""
    if expected_background not in BACKGROUNDS:
        raise ValueError(f"expected_background must be 'red' or 'blue', got {expected_background!r}")
    work = working_image(image)
    if work is None:
        return combine([Check("image_unreadable", False, 0.0)], {}, order=PROBLEMS)
    t = thresholds
    # Exposure and backdrop on a half-size grid (Pillow's reduce is cheap).
    small = np.asarray(work.reduce(2), dtype=np.float32)
    y, cb, cr = small[..., 0], small[..., 1] - 128.0, small[..., 2] - 128.0
    # RGB from YCbCr (JFIF), for clipping and hue.
    r = y + 1.402 * cr
    g = y - 0.344136 * cb - 0.714136 * cr
    b = y + 1.772 * cb
    mean_luma = float(y.mean())
    clipped = float((np.maximum(np.maximum(r, g), b) >= 250.0).mean())
    m: dict[str, float] = {"mean_luma": round(mean_luma, 2), "clipped_fraction": round(clipped, 4)}
    exposure = [
        at_least("underexposed", mean_luma, t.min_mean_luma),
        at_most("overexposed", clipped, t.max_clipped_fraction),
    ]

    red_share, blue_share = _backdrop(r, g, b)
    m["background_red"] = round(red_share, 4)
    m["background_blue"] = round(blue_share, 4)
    share = red_share if expected_background == "red" else blue_share
    background = at_least("wrong_background", share, t.min_background_fraction)

    face = _face_checks(np.asarray(work.getchannel(0), dtype=np.float32), t, m)
    if not all(c.passed for c in exposure):
        # Clipped or crushed pixels lose detail: what the face checks found then is
        # not trusted enough to tell the operator, only to rank. Except "no face":
        # a frame without a face the detector can see is never to be kept.
        face = [c if c.passed or c.problem == "no_face" else unmeasured(c.problem) for c in face]
    return combine(exposure + face + [background], m, order=PROBLEMS)


def _face_checks(luma: np.ndarray, t: FaceThresholds, m: dict[str, float]) -> list[Check]:
    """Presence, count, size, position, sharpness and pose of the face; records measures in ``m``."""
    h, w = luma.shape
    faces = detector.find_faces(luma)
    m["faces"] = float(len(faces))
    if not faces:
        return [Check("no_face", False, 0.0)] + [
            unmeasured(p) for p in ("multiple_faces", "face_too_small", "off_centre", "blurred",
                                    "eyes_not_visible", "not_frontal")
        ]
    face = faces[0]
    others = [f for f in faces[1:] if f.overlap(face) < _SAME_FACE_OVERLAP]
    second = float(max((f.area for f in others), default=0.0)) / (h * w)
    width = float(face.w) / w
    cy = float(face.cy) / h
    dx = abs(float(face.cx) / w - 0.5)
    m.update(
        second_face_area=round(second, 4),
        face_width=round(width, 4),
        centre_offset_x=round(dx, 4),
        face_centre_y=round(cy, 4),
    )
    off_x = at_most("off_centre", dx, t.max_centre_offset_x)
    off_y = at_most("off_centre", abs(cy - _EXPECTED_FACE_Y), t.max_centre_offset_y)
    x0, y0 = max(0, int(face.x)), max(0, int(face.y))
    sharpness = _sharpness(luma[y0 : int(face.y + face.h) + 1, x0 : int(face.x + face.w) + 1])
    m["sharpness"] = round(sharpness, 3)
    checks = [
        Check("no_face", True, 1.0),
        at_most("multiple_faces", second, t.max_second_face_area),
        at_least("face_too_small", width, t.min_face_width),
        min(off_x, off_y, key=lambda c: c.margin),
        at_least("blurred", sharpness, t.min_sharpness),
    ]
    eyes = detector.find_eyes(luma, face)
    m["eyes"] = 0.0 if eyes is None else 1.0
    if eyes is None:
        return checks + [Check("eyes_not_visible", False, 0.0), unmeasured("not_frontal")]
    roll = abs(eyes.roll_degrees)
    slide = abs(float(eyes.mid_x - face.cx)) / float(face.w)
    m["eye_roll"] = round(roll, 2)
    m["eye_offset"] = round(slide, 4)
    tilt = at_most("not_frontal", roll, t.max_eye_roll)
    turn = at_most("not_frontal", slide, t.max_eye_offset)
    return checks + [Check("eyes_not_visible", True, 1.0), min(tilt, turn, key=lambda c: c.margin)]


# -- decoding --------------------------------------------------------------------
def working_image(image: Image) -> PILImage.Image | None:
    """The image as YCbCr at the gate's working size, or None when the bytes are not an image.

    Public so a benchmark can time the detector on exactly what the gate gives it
    (the luma is ``working_image(image).getchannel(0)``).
    """
    try:
        if image.format is ImageFormat.RGB8:
            pil = PILImage.frombytes("RGB", (image.width, image.height), image.data)
        elif image.format is ImageFormat.GRAY8:
            pil = PILImage.frombytes("L", (image.width, image.height), image.data)
        else:
            pil = PILImage.open(io.BytesIO(image.data))
            # Let the JPEG decoder scale by 1/2, 1/4 or 1/8 in the DCT: most of the saving.
            pil.draft("YCbCr", (_WORK_W, _WORK_W * pil.height // max(1, pil.width)))
        if pil.width < 16 or pil.height < 16:
            return None
        work_h = max(16, round(_WORK_W * pil.height / pil.width)) & ~1
        if pil.size != (_WORK_W, work_h):
            pil = pil.resize((_WORK_W, work_h), PILImage.Resampling.BOX)
        if pil.mode != "YCbCr":
            pil = pil.convert("RGB").convert("YCbCr")
        pil.load()
        return pil
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError):
        return None


# -- sharpness and backdrop ------------------------------------------------------------
def _sharpness(region: np.ndarray) -> float:
    """Variance of the Laplacian of ``region``, relative to its mean brightness squared (x1000)."""
    if region.shape[0] < 3 or region.shape[1] < 3:
        return 0.0
    lap = (
        region[:-2, 1:-1] + region[2:, 1:-1] + region[1:-1, :-2] + region[1:-1, 2:] - 4.0 * region[1:-1, 1:-1]
    )
    level = max(float(region.mean()), 1.0)
    return float(lap.var()) / (level * level) * 1000.0


def _backdrop(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Shares of clearly red and clearly blue pixels in the two top corners."""
    h, w = r.shape
    ch, cw = max(2, int(h * 0.12)), max(2, int(w * 0.18))

    def corners(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[:ch, :cw].ravel(), a[:ch, -cw:].ravel()])

    rr, gg, bb = corners(r), corners(g), corners(b)
    spread = np.maximum(np.maximum(rr, gg), bb) - np.minimum(np.minimum(rr, gg), bb)
    vivid = spread >= 0.25 * np.maximum(np.maximum(np.maximum(rr, gg), bb), 1.0)
    red = vivid & (rr > gg) & (rr > bb)
    blue = vivid & (bb > rr) & (bb >= gg * 0.8)
    total = float(rr.size)
    return float(red.sum()) / total, float(blue.sum()) / total
