"""Pen strokes -> a PNG picture of the signature.

Draws dark ink on white, in 8-bit greyscale, with anti-aliased edges:
the strokes are drawn at ``supersample`` times the size and reduced with a
Lanczos filter, since Pillow's line drawing itself does not anti-alias.
A stroke of one sample (a dot) is drawn as a round dot. The image's metadata
says how it was drawn (scale, extent), never where the ink is.
"""

from __future__ import annotations

import io
from typing import Sequence

from PIL import Image as PILImage
from PIL import ImageDraw

from drivers.types import Image, ImageFormat, PenSample

#: Widest picture produced; wider pads are scaled down to it.
MAX_WIDTH_PX = 1000


def render_strokes(
    strokes: Sequence[Sequence[PenSample]],
    extent: tuple[int, int],
    *,
    max_width_px: int = MAX_WIDTH_PX,
    ink_px: float = 3.0,
    supersample: int = 2,
) -> Image:
    """Draw ``strokes`` (logical coordinates inside ``extent``) as a PNG."""
    width, height = extent
    if width <= 0 or height <= 0:
        raise ValueError(f"extent must be positive, got {width}x{height}")
    scale = min(1.0, max_width_px / width)
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    k = scale * supersample
    big = PILImage.new("L", (out_w * supersample, out_h * supersample), 255)
    draw = ImageDraw.Draw(big)
    pen = max(1, round(ink_px * supersample))
    r = pen / 2
    for stroke in strokes:
        points = [(s.x * k, s.y * k) for s in stroke]
        if not points:
            continue
        if len(points) == 1 or all(p == points[0] for p in points):
            x, y = points[0]
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
            continue
        draw.line(points, fill=0, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
    # BOX is exact area averaging at an integer factor: the same anti-aliasing as
    # Lanczos for line art, at a fraction of the station's CPU budget.
    small = big.resize((out_w, out_h), PILImage.Resampling.BOX)
    buf = io.BytesIO()
    small.save(buf, format="PNG", compress_level=6)
    return Image(
        data=buf.getvalue(),
        width=out_w,
        height=out_h,
        format=ImageFormat.PNG,
        metadata={"renderer": "rekam strokes", "scale": scale, "extent": (width, height), "ink_px": ink_px},
    )
