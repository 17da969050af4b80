"""Face and eye detection for the face gate: OpenCV's Haar cascades.

Owns finding faces and eyes in a greyscale portrait. The detector is
OpenCV's Viola-Jones cascade (``haarcascade_frontalface_alt2`` for faces,
``haarcascade_eye`` for eyes and ``haarcascade_eye_tree_eyeglasses`` for
eyes behind glasses), whose trained models ship
inside the ``opencv-python-headless`` wheel (``cv2.data.haarcascades``; the
4.x wheels, 5.x no longer bundles them): nothing is downloaded, it runs
offline on a Raspberry Pi's Cortex-A72, and it is deterministic. Rules:

* Input is the gate's working luma (a float or uint8 array, about 240 px
  wide); boxes come back in its pixels.
* Two passes keep the cost bounded whatever the frame holds: the whole frame
  at a coarse size for faces of a usable size (and anyone else in it), then,
  only when that found none, the middle of the frame at a finer size for a
  face too small to use, so the operator hears "step closer" rather than
  "no face".
* Contrast is normalised locally (CLAHE) before detection, so a dark face in
  a white hijab or an underexposed frame is still a face to the cascade.
* OpenCV runs on one thread (``cv2.setNumThreads(1)``), set when the cascades
  are first loaded: the gate is called from the workflow's threads (one per
  station; ten in the demo), and the kiosk's browser needs the Pi's other
  cores; OpenCV's own pool would only oversubscribe them. Each calling thread
  gets its own cascade objects (a cascade keeps per-call buffers and is not
  safe to share between threads); loading one takes tens of milliseconds,
  once per thread.
* Nothing here logs or keeps pixels.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from station.errors import StationError

FACE_CASCADE = "haarcascade_frontalface_alt2.xml"
EYE_CASCADE = "haarcascade_eye.xml"
GLASSES_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"

#: Coarse pass: the whole frame at this width; the cascade's 24 px window is then
#: a face a fifth of the frame wide, smaller than any usable portrait's.
_COARSE_W = 120
#: Fine pass: the middle of the frame at this width, for faces the coarse pass is too coarse for.
_FINE_W = 200
#: The fine pass looks for faces up to this share of the frame width (bigger ones are the coarse pass's).
_FINE_MAX = 0.3
#: ...inside this part of the frame (x0, y0, x1, y1 as shares): where a resident stands, far or not.
_FINE_REGION = (0.22, 0.1, 0.78, 0.72)
_FACE_STEP = 1.1
_SCALE_STEP = 1.1
_MIN_NEIGHBOURS = 3
#: Eyes are searched at this face width (working pixels are upsampled to it).
_EYE_FACE_W = 96
#: ...and behind glasses at this one, in finer steps (the frames make the cascade's
#: answer hinge on a pixel; more pixels and more sizes make it steady).
_GLASSES_FACE_W = 112
_GLASSES_STEP = 1.05
#: The band of the face box the eyes are looked for in (shares of its height, from the top).
_EYE_BAND = (0.15, 0.6)
#: Eye boxes between these shares of the face width (a narrower range behind glasses,
#: where the slower cascade's every extra size costs).
_EYE_SIZE = (0.14, 0.4)
_GLASSES_SIZE = (0.16, 0.32)
#: Eye centres this far apart, as shares of the face width (a pair outside is not two eyes).
_EYE_GAP = (0.25, 0.7)


class DetectorUnavailable(StationError):
    """OpenCV's cascade files are missing: the face gate cannot run."""

    reason_id = "station_error"


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in working-image pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return self.w * self.h

    def overlap(self, other: "Box") -> float:
        """Intersection over the smaller box (1 when one holds the other)."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        return ix * iy / max(1e-9, min(self.area, other.area))


@dataclass(frozen=True)
class Eyes:
    """The two eyes of a face, as centres in working-image pixels (image left first)."""

    left: tuple[float, float]
    right: tuple[float, float]

    @property
    def distance(self) -> float:
        return math.hypot(self.right[0] - self.left[0], self.right[1] - self.left[1])

    @property
    def roll_degrees(self) -> float:
        """Angle of the line through the eyes against the horizontal."""
        return math.degrees(math.atan2(self.right[1] - self.left[1], self.right[0] - self.left[0]))

    @property
    def mid_x(self) -> float:
        return (self.left[0] + self.right[0]) / 2


class _Cascades(threading.local):
    face: cv2.CascadeClassifier | None = None
    eye: cv2.CascadeClassifier | None = None
    glasses: cv2.CascadeClassifier | None = None
    clahe: cv2.CLAHE | None = None


_local = _Cascades()
_threads_set = False


def _load() -> _Cascades:
    global _threads_set
    if _local.face is None:
        if not _threads_set:
            cv2.setNumThreads(1)
            _threads_set = True
        base = Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or ".")
        names = (FACE_CASCADE, EYE_CASCADE, GLASSES_CASCADE)
        face, eye, glasses = (cv2.CascadeClassifier(str(base / name)) for name in names)
        missing = [n for n, c in zip(names, (face, eye, glasses)) if c.empty()]
        if missing:
            raise DetectorUnavailable(
                f"OpenCV {cv2.__version__} has no {', '.join(missing)} in {base}: "
                "the face gate needs opencv-python-headless 4.x, whose wheel ships the Haar cascades",
                detail="OpenCV cascades missing",
            )
        _local.face, _local.eye, _local.glasses = face, eye, glasses
        _local.clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    return _local


def ensure_available() -> None:
    """Load the cascades now (in this thread), raising :class:`DetectorUnavailable` if they are missing."""
    _load()


def find_faces(luma: np.ndarray) -> list[Box]:
    """Faces in a working-size luma image, largest first."""
    c = _load()
    h, w = luma.shape
    faces = _detect(c, luma, _COARSE_W, (0.0, 0.0, 1.0, 1.0), None)
    if not any(f.w >= _FINE_MAX * w for f in faces):
        fine = _detect(c, luma, _FINE_W, _FINE_REGION, _FINE_MAX * w)
        # A face the fine pass found again (the coarse pass' smallest sizes) is kept once.
        faces += [f for f in fine if all(f.overlap(g) < 0.5 for g in faces)]
    return sorted(faces, key=lambda b: -b.area)


def find_eyes(luma: np.ndarray, face: Box) -> Eyes | None:
    """The face's two eyes, or None when no plausible pair is found.

    Searches the band of the face box where eyes sit, resampled to a fixed
    face width: first with the plain eye cascade on a locally equalised crop
    (cheap, finds bare eyes), then, only if that finds no pair, with the
    cascade trained on eyes behind glasses, larger and on a plainly stretched
    crop (local equalisation makes spectacle frames as dark as the eyes).
    """
    c = _load()
    passes = ((c.eye, _EYE_FACE_W, True, _SCALE_STEP, _EYE_SIZE),
              (c.glasses, _GLASSES_FACE_W, False, _GLASSES_STEP, _GLASSES_SIZE))
    for cascade, face_w, equalise, step, sizes in passes:
        pair = _eye_pass(c, cascade, luma, face, face_w, equalise, step, sizes)
        if pair is not None:
            return pair
    return None


def _eye_pass(c: _Cascades, cascade: cv2.CascadeClassifier, luma: np.ndarray, face: Box, face_w: int,
              equalise: bool, step: float, sizes: tuple[float, float]) -> Eyes | None:
    """One eye cascade over the eye band of ``face``, resampled to ``face_w`` pixels across."""
    h, w = luma.shape
    x0, x1 = max(0, int(face.x)), min(w, int(math.ceil(face.x + face.w)))
    y0, y1 = max(0, int(face.y + _EYE_BAND[0] * face.h)), min(h, int(math.ceil(face.y + _EYE_BAND[1] * face.h)))
    if x1 - x0 < 8 or y1 - y0 < 4:
        return None
    k = face_w / face.w
    crop = cv2.resize(np.ascontiguousarray(luma[y0:y1, x0:x1], dtype=np.float32),
                      (round((x1 - x0) * k), round((y1 - y0) * k)), interpolation=cv2.INTER_LINEAR)
    img = _stretch(crop)
    if equalise:
        img = c.clahe.apply(img)
    found = cascade.detectMultiScale(img, step, 2, minSize=(round(sizes[0] * face_w),) * 2,
                                     maxSize=(round(sizes[1] * face_w),) * 2)
    pair = _best_pair([(ex + ew / 2, ey + eh / 2) for ex, ey, ew, eh in found], (face.cx - x0) * k, face_w)
    if pair is None:
        return None
    (lx, ly), (rx, ry) = pair
    return Eyes((x0 + lx / k, y0 + ly / k), (x0 + rx / k, y0 + ry / k))


def _best_pair(centres: list[tuple[float, float]], mid: float, face_w: float
               ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The most level pair with one eye each side of ``mid``, a plausible distance apart."""
    best = None
    for left in (p for p in centres if p[0] < mid):
        for right in (p for p in centres if p[0] >= mid):
            d = right[0] - left[0]
            if not _EYE_GAP[0] * face_w <= d <= _EYE_GAP[1] * face_w:
                continue
            tilt = abs(right[1] - left[1]) / d
            if best is None or tilt < best[0]:
                best = (tilt, left, right)
    return None if best is None else (best[1], best[2])


def _detect(c: _Cascades, luma: np.ndarray, width: int, region: tuple[float, float, float, float],
            max_size: float | None) -> list[Box]:
    """One cascade pass over ``region`` of the frame scaled to ``width``; boxes in working pixels."""
    h, w = luma.shape
    x0, y0 = int(region[0] * w), int(region[1] * h)
    x1, y1 = int(region[2] * w), int(region[3] * h)
    k = width / w
    part = cv2.resize(np.ascontiguousarray(luma[y0:y1, x0:x1], dtype=np.float32),
                      (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))), interpolation=cv2.INTER_AREA)
    img = c.clahe.apply(_stretch(part))
    kwargs = {} if max_size is None else {"maxSize": (round(max_size * k),) * 2}
    found = c.face.detectMultiScale(img, _FACE_STEP, _MIN_NEIGHBOURS, minSize=(24, 24), **kwargs)
    return [Box(x0 + fx / k, y0 + fy / k, fw / k, fh / k) for fx, fy, fw, fh in found]


def _stretch(a: np.ndarray) -> np.ndarray:
    """Linear contrast stretch of a float image to uint8 (1st..99th percentile to 0..255)."""
    lo, hi = np.percentile(a, (1.0, 99.0))
    scale = 255.0 / max(float(hi - lo), 8.0)
    return np.clip((a - lo) * scale, 0, 255).astype(np.uint8)
