"""Synthetic e-KTP portraits: a :class:`~drivers.scene.FaceView` in, RGB pixels out.

This module owns what the emulated camera "sees". Its rules:

* A person's look (skin tone, face shape, eyes, brows, nose, mouth, ears,
  hair or hijab, shirt) comes only from ``rng_for(person_id, ...)``, so the
  same resident photographed twice is recognisably the same person.
* ``capture_seed`` only moves things a little: pose, position, lighting,
  sensor noise. Two captures are never byte-identical.
* A :class:`~drivers.scene.FaceCondition` is rendered into the pixels and
  nowhere else (blur, exposure, framing, a second person, the backdrop); a
  quality gate must find it by measuring the image.
* A real face detector must find the faces: each face gets the light of a
  photograph (eye sockets darker than the cheeks and the bridge of the
  nose, shadow under the nose and lip, a rim turning away from the light,
  highlights on the nose, forehead and cheekbones), and the people a
  condition adds or moves stay where a detector can see a whole face (the
  second person looks over the resident's shoulder, inside the frame). The
  tests check this with OpenCV's stock frontal-face cascade.
* Colours are chosen so a plain YCrCb skin rule (Cr 133..173, Cb 77..127)
  finds skin and only skin: hair, hijabs, shirts, chairs and both backdrops
  stay outside it (``NON_SKIN_COLOURS``), every skin tone inside it
  (``SKIN_TONES``); tests pin this down.

Drawing is polygons on a 2x Pillow canvas reduced to size (anti-aliasing),
the light and shade as two small blurred layers over the head, then grain,
blur, exposure, lighting and noise in numpy: about 20-35 ms for 480x640 on
a PC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from PIL import Image as PILImage
from PIL import ImageChops, ImageDraw, ImageFilter

from drivers.scene import Backdrop, FaceCondition, FaceView, Person
from drivers.synthetic.portrait_pen import Pen, face_outline
from drivers.synthetic.seed import rng_for

#: Bumped whenever the same inputs would render different pixels.
RENDERER_VERSION = "portrait/2"

RGB = tuple[int, int, int]

#: Skin tones from light to dark; a person's tone is a blend of two neighbours.
SKIN_TONES: tuple[RGB, ...] = (
    (228, 186, 156),
    (212, 164, 128),
    (190, 140, 104),
    (165, 116, 84),
    (138, 94, 68),
    (116, 78, 58),
)
HAIR_COLOURS: tuple[RGB, ...] = ((22, 20, 20), (30, 27, 26), (38, 34, 33))
HAIR_SHINE: RGB = (62, 60, 62)
HIJAB_COLOURS: tuple[RGB, ...] = (
    (28, 28, 30),  # black
    (226, 226, 222),  # white
    (128, 128, 132),  # grey
    (40, 76, 52),  # dark green
    (92, 62, 118),  # purple
    (48, 58, 96),  # navy
)
SHIRT_COLOURS: tuple[RGB, ...] = (
    (224, 224, 220),  # white
    (186, 188, 192),  # light grey
    (30, 30, 34),  # black
    (34, 44, 84),  # navy
    (34, 72, 48),  # dark green
    (150, 184, 220),  # light blue
)
CHAIR_COLOURS: tuple[RGB, ...] = ((70, 70, 76), (210, 212, 214), (40, 110, 62))
BACKDROP_COLOURS: dict[Backdrop, RGB] = {
    Backdrop.RED: (212, 30, 40),
    Backdrop.BLUE: (34, 104, 210),
}
#: Everything that must never pass for skin.
NON_SKIN_COLOURS: tuple[RGB, ...] = (
    HAIR_COLOURS + (HAIR_SHINE,) + HIJAB_COLOURS + SHIRT_COLOURS + CHAIR_COLOURS
    + tuple(BACKDROP_COLOURS.values())
)

_SCLERA: RGB = (226, 222, 216)
_IRIS: RGB = (62, 42, 32)
_PUPIL: RGB = (14, 12, 12)
_LIP_TINT: RGB = (150, 60, 70)
#: Scene grain is the difference of two uniform draws over this many levels (sigma ~2.8).
_GRAIN_LEVELS = 7


@dataclass(frozen=True)
class _Look:
    """Everything about a person's appearance; fixed per person."""

    skin: RGB
    face_rx: float  # half-width of the face, in frame units
    face_ry: float
    chin: float  # 0 round .. 1 pointed
    eye_dx: float
    eye_y: float
    eye_r: float
    brow_gap: float
    brow_thick: float
    brow_tilt: float
    nose_w: float
    nose_len: float
    mouth_y: float
    mouth_w: float
    lip_h: float
    lip: RGB
    ear: float
    neck_w: float
    hair: str  # "short", "medium", "long", "cropped" or "hijab"
    hair_colour: RGB
    hairline: float
    part: float  # tilts the hairline: a side parting
    hijab_colour: RGB
    shirt: RGB
    collar: bool
    moustache: bool


@dataclass(frozen=True)
class _Pose:
    """Where and how the person stands for one capture (frame units)."""

    dx: float
    dy: float
    scale: float
    roll: float  # radians
    yaw: float  # -1..1, shifts the features sideways


def _mix(a: Sequence[float], b: Sequence[float], t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def _shade(c: Sequence[float], k: float) -> RGB:
    return tuple(int(max(0, min(255, round(v * k)))) for v in c)  # type: ignore[return-value]


@lru_cache(maxsize=512)
def _look(person_id: str, sex: str) -> _Look:
    """A person's appearance, from their id alone (cached: it never changes)."""
    r = rng_for(person_id, "portrait", "look")
    u = lambda lo, hi: float(r.uniform(lo, hi))  # noqa: E731
    t = u(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    skin = _mix(SKIN_TONES[i], SKIN_TONES[i + 1], t - i)
    female = sex.upper().startswith("F")
    if female:
        hair = str(r.choice(["hijab", "hijab", "long", "medium"]))
    else:
        hair = str(r.choice(["short", "short", "cropped", "medium"]))
    face_rx = u(0.165, 0.195) * (0.96 if female else 1.0)
    return _Look(
        skin=skin,
        face_rx=face_rx,
        face_ry=face_rx * u(1.25, 1.42),
        chin=u(0.2, 0.8),
        eye_dx=u(0.36, 0.44),
        eye_y=u(-0.06, 0.0),
        eye_r=u(0.13, 0.17),
        brow_gap=u(0.09, 0.14),
        brow_thick=u(0.035, 0.07) * (0.8 if female else 1.0),
        brow_tilt=u(-0.25, 0.2),
        nose_w=u(0.14, 0.21),
        nose_len=u(0.28, 0.38),
        mouth_y=u(0.5, 0.6),
        mouth_w=u(0.36, 0.5),
        lip_h=u(0.035, 0.065),
        lip=_mix(skin, _LIP_TINT, u(0.2, 0.35)),
        ear=u(0.85, 1.15),
        neck_w=u(0.42, 0.55),
        hair=hair,
        hair_colour=HAIR_COLOURS[int(r.integers(len(HAIR_COLOURS)))],
        hairline=u(-0.62, -0.48),
        part=u(-0.2, 0.2),
        hijab_colour=HIJAB_COLOURS[int(r.integers(len(HIJAB_COLOURS)))],
        shirt=SHIRT_COLOURS[int(r.integers(len(SHIRT_COLOURS)))],
        collar=bool(r.random() < 0.7),
        moustache=(not female) and bool(r.random() < 0.3),
    )


def _draw_person(pen: Pen, look: _Look, yaw: float) -> None:
    """Torso, neck, head, face, features, back to front."""
    rx, ry = look.face_rx, look.face_ry
    skin = look.skin
    hijab = look.hair == "hijab"

    # Long hair falls behind the shoulders.
    if look.hair == "long":
        pen.poly([(-rx * 1.25, -ry * 0.2), (rx * 1.25, -ry * 0.2), (rx * 1.45, ry * 2.1), (-rx * 1.45, ry * 2.1)],
                 look.hair_colour)
        pen.ellipse(0, -ry * 0.15, rx * 1.28, ry * 1.08, look.hair_colour)

    # Neck, then the shirt over it with a V opening that shows skin.
    nw = rx * look.neck_w
    pen.poly([(-nw, ry * 0.3), (nw, ry * 0.3), (nw * 1.05, ry * 2.3), (-nw * 1.05, ry * 2.3)], _shade(skin, 0.86))
    top = ry * 1.42
    v = ry * 2.05
    shirt = look.shirt
    half = [(nw * 1.05, top), (rx * 1.6, top + ry * 0.22), (rx * 2.45, top + ry * 0.52),
            (rx * 2.9, top + ry * 1.2), (rx * 3.1, 6.0)]
    pen.poly([(0, v)] + half + [(-x, y) for x, y in reversed(half)] + [(-nw * 1.05, top)], shirt)
    if look.collar:
        flap = _shade(shirt, 1.08) if sum(shirt) < 600 else _shade(shirt, 0.9)
        for side in (-1, 1):
            pen.poly([(side * nw * 0.9, top - ry * 0.08), (side * nw * 1.9, top + ry * 0.08), (0, v + ry * 0.05),
                      (side * nw * 0.3, v - ry * 0.15)], flap)
        # Buttons down the placket: small, sharp detail.
        for b in range(3):
            pen.ellipse(0, v + ry * (0.3 + 0.45 * b), rx * 0.035, rx * 0.035, _shade(shirt, 0.6))

    if hijab:
        # A hijab frames the face and drapes over the shoulders.
        hc = look.hijab_colour
        pen.poly([(-rx * 1.35, -ry * 0.1), (rx * 1.35, -ry * 0.1), (rx * 2.2, ry * 2.2), (0, ry * 2.6),
                  (-rx * 2.2, ry * 2.2)], hc)
        pen.ellipse(0, -ry * 0.12, rx * 1.36, ry * 1.24, hc)
    else:
        # Hair volume behind the head, then ears.
        hrx, hry, hcy = _hair_volume(look)
        pen.ellipse(0, hcy, hrx, hry, look.hair_colour)
        for side in (-1, 1):
            pen.ellipse(side * rx * 0.97, ry * 0.04, rx * 0.2 * look.ear, ry * 0.26 * look.ear, _shade(skin, 0.9),
                        tilt=side * 0.15)
            pen.ellipse(side * rx * 1.0, ry * 0.05, rx * 0.09 * look.ear, ry * 0.14 * look.ear, _shade(skin, 0.78))

    # Face in three tones: a darker rim reads as shading once anti-aliased.
    k_face = 0.93 if hijab else 1.0
    for k, tone in ((1.0, 0.88), (0.93, 0.95), (0.8, 1.0)):
        pen.poly(face_outline(rx * k_face, ry, look.chin, k), _shade(skin, tone))

    # Hairline / hijab band over the forehead.
    if hijab:
        band = [(rx * 1.3 * math.cos(a), -ry * 0.12 + ry * 1.2 * math.sin(a)) for a in np.linspace(math.pi, 2 * math.pi, 24)]
        band += [(rx * 1.0 * math.cos(a), -ry * 0.62 + ry * 0.14 * math.sin(a)) for a in np.linspace(2 * math.pi, math.pi, 16)]
        pen.poly(band, look.hijab_colour)
    else:
        _draw_hair_cap(pen, look)

    fx = yaw * rx * 0.18  # features slide with head yaw
    # Eyebrows.
    for side in (-1, 1):
        ex = fx + side * rx * look.eye_dx
        ey = ry * look.eye_y - ry * look.brow_gap - ry * look.eye_r * 0.45
        w = rx * 0.3
        t = look.brow_tilt * side
        pen.poly([(ex - w, ey + t * 0.02), (ex + w, ey - t * 0.02), (ex + w * 0.9, ey - t * 0.02 + ry * look.brow_thick),
                  (ex - w, ey + t * 0.02 + ry * look.brow_thick * 1.1)], look.hair_colour)
    # Eyes: sclera, iris, pupil, lid line, catch-light.
    for side in (-1, 1):
        ex = fx + side * rx * look.eye_dx
        ey = ry * look.eye_y
        er = rx * look.eye_r
        pen.ellipse(ex, ey, er * 1.55, er * 0.7, _SCLERA)
        pen.ellipse(ex + fx * 0.3, ey, er * 0.68, er * 0.68, _IRIS)
        pen.ellipse(ex + fx * 0.3, ey, er * 0.3, er * 0.3, _PUPIL)
        pen.ellipse(ex + fx * 0.3 + er * 0.22, ey - er * 0.22, er * 0.12, er * 0.12, (240, 240, 240))
        pen.line([(ex - er * 1.6, ey + er * 0.05), (ex - er * 0.8, ey - er * 0.62), (ex + er * 0.8, ey - er * 0.62),
                  (ex + er * 1.6, ey + er * 0.05)], _PUPIL, er * 0.18)
    # Nose: a shaded ridge, a tip, two nostrils.
    ny = ry * (look.eye_y + look.nose_len)
    nw2 = rx * look.nose_w
    pen.poly([(fx - nw2 * 0.35, ry * look.eye_y + ry * 0.05), (fx - nw2 * 0.15, ry * look.eye_y + ry * 0.05),
              (fx - nw2 * 0.6, ny - ry * 0.02), (fx - nw2 * 0.85, ny)], _shade(skin, 0.8))
    pen.ellipse(fx, ny - ry * 0.02, nw2 * 0.7, ry * 0.05, _shade(skin, 0.9))
    for side in (-1, 1):
        pen.ellipse(fx + side * nw2 * 0.45, ny + ry * 0.01, nw2 * 0.22, ry * 0.018, _shade(skin, 0.45))
    # Moustache, then lips.
    my = ry * look.mouth_y
    mw = rx * look.mouth_w
    if look.moustache:
        pen.poly([(fx - mw * 0.9, my - ry * 0.02), (fx, my - ry * 0.09), (fx + mw * 0.9, my - ry * 0.02),
                  (fx + mw * 0.8, my - ry * 0.055), (fx, my - ry * 0.13), (fx - mw * 0.8, my - ry * 0.055)],
                 look.hair_colour)
    lh = ry * look.lip_h
    pen.poly([(fx - mw, my), (fx - mw * 0.4, my - lh), (fx, my - lh * 0.6), (fx + mw * 0.4, my - lh), (fx + mw, my)],
             _shade(look.lip, 0.92))
    pen.poly([(fx - mw, my), (fx + mw, my), (fx + mw * 0.5, my + lh * 1.3), (fx - mw * 0.5, my + lh * 1.3)], look.lip)
    pen.line([(fx - mw, my), (fx, my + lh * 0.1), (fx + mw, my)], _shade(look.lip, 0.45), ry * 0.012)


def _hair_volume(look: _Look) -> tuple[float, float, float]:
    """Half-width, half-height and centre height of the hair around the head."""
    rx, ry = look.face_rx, look.face_ry
    k = {"cropped": (1.04, 0.95, -0.08), "medium": (1.17, 1.08, -0.15), "long": (1.14, 1.05, -0.13)}
    kx, ky, kc = k.get(look.hair, (1.08, 1.0, -0.1))
    return rx * kx, ry * ky, ry * kc


def _draw_hair_cap(pen: Pen, look: _Look) -> None:
    """Hair over the top of the head down to the hairline, with strands."""
    rx, ry = look.face_rx, look.face_ry
    hrx, hry, hcy = _hair_volume(look)
    hairline = ry * look.hairline
    # Upper arc of the hair ellipse down to the hairline, back along a curved hairline.
    angles = [a for a in np.linspace(math.pi, 2 * math.pi, 28) if hcy + hry * math.sin(a) <= hairline + ry * 0.35]
    arc = [(hrx * math.cos(a), hcy + hry * math.sin(a)) for a in angles]
    xs = np.linspace(arc[-1][0], arc[0][0], 16)
    line = [(float(x), hairline + ry * (0.3 * (abs(x) / hrx) ** 2 + look.part * x / hrx * 0.4)) for x in xs]
    pen.poly(arc + line, look.hair_colour)
    # Strands: thin lighter lines from the crown to the hairline (fine detail a sharp lens resolves).
    r = rng_for(look.skin, look.hairline, "strands")
    for _ in range(26):
        x0 = float(r.uniform(-0.85, 0.85)) * hrx
        y0 = hcy - hry * math.sqrt(max(0.0, 1 - (x0 / hrx) ** 2)) * 0.92
        x1 = x0 * float(r.uniform(0.75, 0.95))
        y1 = hairline + ry * (0.28 * (abs(x1) / hrx) ** 2 + look.part * x1 / hrx * 0.4 - 0.03)
        xm = (x0 + x1) / 2 + float(r.uniform(-0.008, 0.008))
        pen.line([(x0, y0), (xm, (y0 + y1) / 2), (x1, y1)], HAIR_SHINE, 0.004)


def _draw_chair(draw: ImageDraw.ImageDraw, w: int, h: int, colour: RGB, dx: float) -> None:
    """An empty plastic chair: backrest and seat edge at the bottom of the frame."""
    cx = w * (0.5 + dx)
    bw, top = w * 0.3, h * 0.62
    draw.rounded_rectangle([cx - bw, top, cx + bw, h * 0.9], radius=int(w * 0.06), fill=colour)
    draw.rounded_rectangle([cx - bw * 0.7, top + h * 0.05, cx + bw * 0.7, top + h * 0.1], radius=int(w * 0.02),
                           fill=_shade(colour, 0.7))
    draw.rectangle([cx - bw * 1.15, h * 0.88, cx + bw * 1.15, h], fill=_shade(colour, 0.85))


def _pose(condition: FaceCondition, r: np.random.Generator) -> _Pose:
    """Per-capture pose; framing conditions move the person, nothing else does."""
    dx, dy = float(r.uniform(-0.015, 0.015)), float(r.uniform(-0.012, 0.012))
    scale = float(r.uniform(0.98, 1.02))
    if condition is FaceCondition.OFF_CENTRE:
        dx = float(r.choice([-1.0, 1.0]) * r.uniform(0.23, 0.27))
        dy += float(r.uniform(-0.04, 0.06))
    elif condition is FaceCondition.TOO_FAR:
        scale = float(r.uniform(0.42, 0.46))
        dy += float(r.uniform(0.02, 0.05))  # camera at head height: a far face stays near its row
    return _Pose(dx=dx, dy=dy, scale=scale, roll=math.radians(float(r.uniform(-2, 2))), yaw=float(r.uniform(-0.3, 0.3)))


def render(view: FaceView, *, width: int = 480, height: int = 640, capture_seed: int = 0) -> np.ndarray:
    """Render one portrait as uint8 RGB of shape ``(height, width, 3)``.

    ``view.person`` None (or NO_FACE) renders the backdrop alone, sometimes
    with an empty chair; WRONG_BACKDROP renders the other colour than
    ``view.backdrop``; every other condition changes blur, exposure, framing
    or adds a second person, and nothing else.
    """
    if width < 64 or height < 64:
        raise ValueError(f"portrait must be at least 64x64, got {width}x{height}")
    person: Person | None = view.person
    condition = view.condition
    nobody = person is None or condition is FaceCondition.NO_FACE
    who = person.person_id if person is not None else "-"
    r = rng_for(who, "portrait", "capture", condition.value, capture_seed)

    backdrop = view.backdrop
    if condition is FaceCondition.WRONG_BACKDROP:
        backdrop = Backdrop.RED if backdrop is Backdrop.BLUE else Backdrop.BLUE
    bg = tuple(int(np.clip(c + r.normal(0, 5), 0, 255)) for c in BACKDROP_COLOURS[backdrop])

    # Draw at twice the size, reduce: cheap anti-aliasing.
    ss = 2
    W, H = width * ss, height * ss
    canvas = PILImage.new("RGB", (W, H), bg)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(canvas)
    unit = min(W, 0.75 * H)  # faces stay round whatever the aspect ratio

    if person is None or nobody:
        if r.random() < 0.5:
            colour = CHAIR_COLOURS[int(r.integers(len(CHAIR_COLOURS)))]
            _draw_chair(draw, W, H, colour, float(r.uniform(-0.05, 0.05)))
    else:
        pose = _pose(condition, r)
        look = _look(person.person_id, person.sex)
        if condition is FaceCondition.TWO_FACES:
            # Someone standing behind, to one side, looking into the camera over
            # the resident's shoulder; drawn first so the resident hides their body.
            side = float(r.choice([-1.0, 1.0]))
            other = _look(f"{person.person_id}/behind", "F" if r.random() < 0.5 else "M")
            opose = _Pose(dx=side * float(r.uniform(0.33, 0.35)) * W / unit, dy=float(r.uniform(-0.17, -0.14)),
                          scale=float(r.uniform(0.76, 0.8)), roll=math.radians(float(r.uniform(-4, 4))), yaw=-side * 0.2)
            _draw_posed(canvas, draw, W, H, unit, other, opose)
        _draw_posed(canvas, draw, W, H, unit, look, pose)

    # Scene grain (cloth weave, skin, paper): fine detail that a sharp lens
    # resolves and any blur wipes out, unlike sensor noise added later.
    a = np.asarray(canvas.reduce(ss), dtype=np.int16)
    grain = r.integers(0, _GRAIN_LEVELS, (2, height, width, 1), dtype=np.int8)
    a += grain[0] - grain[1]
    if condition is FaceCondition.BLURRED and not nobody:
        # Defocus or movement: a real low-pass, several pixels wide.
        np.clip(a, 0, 255, out=a)
        blurred = PILImage.fromarray(a.astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(float(r.uniform(0.011, 0.014)) * min(width, 0.75 * height))
        )
        f = np.asarray(blurred, dtype=np.float32)
    else:
        f = a.astype(np.float32)
    return _expose(f, condition, r)


def _draw_posed(canvas: PILImage.Image, draw: ImageDraw.ImageDraw, W: int, H: int, unit: float, look: _Look,
                pose: _Pose) -> None:
    cx = W * 0.5 + pose.dx * unit
    cy = H * 0.41 + pose.dy * unit
    _draw_person(Pen(draw, cx, cy, unit * pose.scale, pose.roll), look, pose.yaw)
    _shade_face(canvas, cx, cy, unit * pose.scale, pose, look)


#: The shading layer is drawn at this fraction of the canvas, blurred, then scaled up.
_SHADE_SCALE = 4


def _shade_face(canvas: PILImage.Image, cx: float, cy: float, unit: float, pose: _Pose, look: _Look) -> None:
    """Soft light and shadow over the head: what makes a drawing read as a face.

    A face detector looks for a photograph's light: eye sockets darker than the
    cheeks and the bridge of the nose, shadow under the nose and the lower lip,
    the face darkening towards its edges as it turns away from the light. The
    shapes are drawn in person space (so they follow pose and features) on a
    small greyscale layer, blurred, and multiplied into the canvas over the head.
    """
    rx, ry = look.face_rx, look.face_ry
    half = 1.5 * max(rx, ry) * unit
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(canvas.width, cx + half)), int(min(canvas.height, cy + half))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return
    k = _SHADE_SCALE
    layer = PILImage.new("L", ((x1 - x0) // k + 1, (y1 - y0) // k + 1), 255)
    pen = Pen(ImageDraw.Draw(layer), (cx - x0) / k, (cy - y0) / k, unit / k, pose.roll)

    def ink(v: float) -> RGB:
        return int(round(255 * v))  # type: ignore[return-value]

    hijab = 0.93 if look.hair == "hijab" else 1.0
    # The face turns away from the light towards its rim.
    for kk, v in ((1.0, 0.74), (0.9, 0.84), (0.76, 0.93), (0.58, 1.0)):
        pen.poly(face_outline(rx * hijab, ry, look.chin, kk), ink(v))  # type: ignore[arg-type]
    fx = pose.yaw * rx * 0.18
    ey = ry * look.eye_y
    for side in (-1, 1):
        ex = fx + side * rx * look.eye_dx
        # Eye socket: from under the brow to the top of the cheek.
        pen.ellipse(ex, ey - ry * 0.03, rx * 0.3, ry * 0.17, ink(0.5))  # type: ignore[arg-type]
        # The side of the nose away from the bridge.
        pen.ellipse(fx + side * rx * look.nose_w * 0.75, ey + ry * look.nose_len * 0.55, rx * 0.06,
                    ry * look.nose_len * 0.4, ink(0.86))  # type: ignore[arg-type]
    ny = ry * (look.eye_y + look.nose_len)
    pen.ellipse(fx, ny + ry * 0.06, rx * look.nose_w * 0.9, ry * 0.045, ink(0.7))  # type: ignore[arg-type]
    my = ry * look.mouth_y
    pen.ellipse(fx, my, rx * look.mouth_w * 1.1, ry * 0.07, ink(0.8))  # type: ignore[arg-type]
    pen.ellipse(fx, my + ry * 0.15, rx * look.mouth_w * 0.7, ry * 0.05, ink(0.82))  # type: ignore[arg-type]
    # Where the light catches: the bridge and tip of the nose, the forehead, the cheekbones.
    light = PILImage.new("L", layer.size, 0)
    lit = Pen(ImageDraw.Draw(light), pen.cx, pen.cy, pen.unit, pose.roll)
    lit.ellipse(fx, ey + ry * look.nose_len * 0.45, rx * 0.09, ry * look.nose_len * 0.55, ink(0.3))  # type: ignore[arg-type]
    lit.ellipse(fx * 0.5, ry * (look.hairline + 0.25), rx * 0.4, ry * 0.13, ink(0.2))  # type: ignore[arg-type]
    for side in (-1, 1):
        lit.ellipse(fx + side * rx * 0.5, ey + ry * 0.22, rx * 0.2, ry * 0.08, ink(0.18))  # type: ignore[arg-type]
    blur = ImageFilter.GaussianBlur(rx * unit / k * 0.12)
    size = (x1 - x0, y1 - y0)
    layer = layer.filter(blur).resize(size, PILImage.Resampling.BILINEAR).convert("RGB")
    light = light.filter(blur).resize(size, PILImage.Resampling.BILINEAR).convert("RGB")
    box = (x0, y0, x1, y1)
    canvas.paste(ImageChops.screen(ImageChops.multiply(canvas.crop(box), layer), light), box)


def _expose(a: np.ndarray, condition: FaceCondition, r: np.random.Generator) -> np.ndarray:
    """Light falloff, exposure and sensor noise, then quantise to uint8."""
    h, w, _ = a.shape
    ys = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    lx, ly = float(r.uniform(-0.08, 0.08)), float(r.uniform(-0.06, 0.03))
    exposure = float(r.uniform(0.96, 1.04))
    if condition is FaceCondition.UNDEREXPOSED:
        exposure = float(r.uniform(0.2, 0.26))
    elif condition is FaceCondition.OVEREXPOSED:
        exposure = float(r.uniform(2.6, 3.0))
    gain = exposure * (1.0 + lx * xs + ly * ys) * (1.0 - 0.2 * (xs * xs + ys * ys))
    a *= gain[:, :, None]
    # Sensor noise per channel: difference of two uniform draws, sigma ~1.2-1.6 levels.
    n = int(r.integers(3, 5))
    noise = r.integers(0, n, (2, h, w, 3), dtype=np.int8)
    a += noise[0] - noise[1]
    np.clip(a, 0, 255, out=a)
    a += 0.5
    return a.astype(np.uint8)
