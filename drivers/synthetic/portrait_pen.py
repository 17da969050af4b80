"""Drawing in a person's own coordinates, for the synthetic portraits.

Owns the pose transform (position, scale, roll) from person space, whose
origin is the face centre and whose unit is a frame unit, to canvas pixels,
and the outlines the portrait draws with it. A drawing written in person
space never thinks about pixels, so the same look is drawn at any pose and
size, on the canvas or on a smaller shading layer.
"""

from __future__ import annotations

import math
from typing import Sequence

from PIL import ImageDraw

RGB = tuple[int, int, int]


class Pen:
    """Draws in person space: origin at the face centre, unit = frame unit.

    Applies the pose (position, scale, roll) so the person's drawing code
    never thinks about pixels.
    """

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, cy: float, unit: float, roll: float) -> None:
        self.draw, self.cx, self.cy, self.unit = draw, cx, cy, unit
        self.c, self.s = math.cos(roll), math.sin(roll)

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + self.unit * (x * self.c - y * self.s), self.cy + self.unit * (x * self.s + y * self.c))

    def poly(self, pts: Sequence[tuple[float, float]], fill: RGB) -> None:
        self.draw.polygon([self.pt(x, y) for x, y in pts], fill=fill)

    def ellipse(self, x: float, y: float, rx: float, ry: float, fill: RGB, tilt: float = 0.0, n: int = 40) -> None:
        self.poly(ellipse_pts(x, y, rx, ry, tilt, n), fill)

    def line(self, pts: Sequence[tuple[float, float]], fill: RGB, width: float) -> None:
        w = max(1, int(round(width * self.unit)))
        self.draw.line([self.pt(x, y) for x, y in pts], fill=fill, width=w, joint="curve")


def ellipse_pts(x: float, y: float, rx: float, ry: float, tilt: float = 0.0, n: int = 40) -> list[tuple[float, float]]:
    c, s = math.cos(tilt), math.sin(tilt)
    out = []
    for k in range(n):
        a = 2 * math.pi * k / n
        ex, ey = rx * math.cos(a), ry * math.sin(a)
        out.append((x + ex * c - ey * s, y + ex * s + ey * c))
    return out


def face_outline(rx: float, ry: float, chin: float, k: float = 1.0, n: int = 48) -> list[tuple[float, float]]:
    """An egg: round forehead, the jaw narrowing towards the chin."""
    out = []
    for i in range(n):
        a = 2 * math.pi * i / n
        x, y = rx * k * math.cos(a), ry * k * math.sin(a)
        if y > 0:  # lower half: taper the jaw
            x *= 1 - 0.28 * chin * (y / (ry * k)) ** 2
        out.append((x, y))
    return out
