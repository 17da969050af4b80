"""Real photographs for the quality-gate tests, read from files inside installed wheels.

No one here made these pictures and nothing is downloaded: each is a file
that a maintained package ships as sample data in its wheel (read with
``importlib.resources``, never through the package's fetchers, some of
which download). ``scikit-image``'s ``skimage/data`` ships some images
and fetches others with pooch; only shipped ones are listed here.

Portraits: NASA's portrait of astronaut Eileen Collins (skimage
``astronaut.png``), the US Navy's portrait of Grace Hopper (matplotlib
``grace_hopper.jpg``; she wears glasses) and Luis Pedro Coelho's photo of
himself (mahotas ``luispedro.jpg``; lit from one side, head slightly tilted).
Their eye centres were marked by hand on the original pixels; a portrait is
framed from them the way an operator frames a resident (eyes level with the
upper part of the frame, face a good third of its width) and put on the
e-KTP backdrop through a head-and-shoulders cut-out.

Pictures without a human face: animals, objects, a landscape-like scene,
texture and text, all from skimage.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from drivers.types import Image, ImageFormat

#: The emulated camera's backdrop colours (drivers.synthetic.portrait.BACKDROP_COLOURS).
BACKDROP_RGB = {"red": (212, 30, 40), "blue": (34, 104, 210)}
FRAME = (480, 640)


@dataclass(frozen=True)
class Portrait:
    package: str
    path: str
    left_eye: tuple[int, int]  # image left, in the original's pixels
    right_eye: tuple[int, int]


PORTRAITS = {
    "astronaut": Portrait("skimage.data", "astronaut.png", (202, 102), (247, 104)),
    "grace_hopper": Portrait("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", (223, 189), (304, 186)),
    "luispedro": Portrait("mahotas", "demos/data/luispedro.jpg", (67, 171), (146, 161)),
}

#: name -> (package, path): photographs with no human face in them.
NON_FACES = {
    "chelsea (cat)": ("skimage.data", "chelsea.png"),
    "coffee": ("skimage.data", "coffee.png"),
    "rocket": ("skimage.data", "rocket.jpg"),
    "motorcycle": ("skimage.data", "motorcycle_left.png"),
    "coins": ("skimage.data", "coins.png"),
    "brick wall": ("skimage.data", "brick.png"),
    "grass": ("skimage.data", "grass.png"),
    "gravel": ("skimage.data", "gravel.png"),
    "moon": ("skimage.data", "moon.png"),
    "hubble deep field": ("skimage.data", "hubble_deep_field.jpg"),
    "printed page": ("skimage.data", "page.png"),
    "text": ("skimage.data", "text.png"),
    "retina": ("skimage.data", "retina.jpg"),
}


def photo_path(package: str, path: str) -> Path:
    """The file inside the installed package; fails loudly when a wheel no longer ships it."""
    found = resources.files(package).joinpath(path)
    if not found.is_file():
        raise FileNotFoundError(f"{package} no longer ships {path}")
    return Path(str(found))


def load_rgb(package: str, path: str) -> np.ndarray:
    with PILImage.open(photo_path(package, path)) as im:
        return np.asarray(im.convert("RGB"))


def jpeg(rgb: np.ndarray, quality: int = 90) -> Image:
    """Encode as the emulated camera does."""
    buf = io.BytesIO()
    PILImage.fromarray(rgb, "RGB").save(buf, format="JPEG", quality=quality)
    return Image(buf.getvalue(), rgb.shape[1], rgb.shape[0], ImageFormat.JPEG)


def head_and_shoulders(shape: tuple[int, ...], left: tuple[int, int], right: tuple[int, int]) -> np.ndarray:
    """A soft cut-out mask of the person: head (with hair), neck, shoulders; from the eyes alone."""
    h, w = shape[:2]
    d = right[0] - left[0]
    mx, my = (left[0] + right[0]) / 2, (left[1] + right[1]) / 2
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (int(mx), int(my + 0.3 * d)), (int(1.4 * d), int(2.0 * d)), 0, 0, 360, 1.0, -1)
    cv2.rectangle(mask, (int(mx - 0.8 * d), int(my + 1.5 * d)), (int(mx + 0.8 * d), int(my + 3.2 * d)), 1.0, -1)
    shoulders = np.array([[mx - 0.9 * d, my + 2.7 * d], [mx + 0.9 * d, my + 2.7 * d], [mx + 3.2 * d, my + 3.4 * d],
                          [mx + 3.6 * d, h + 10 * d], [mx - 3.6 * d, h + 10 * d], [mx - 3.2 * d, my + 3.4 * d]])
    cv2.fillPoly(mask, [shoulders.astype(np.int32)], 1.0)
    return cv2.GaussianBlur(mask, (0, 0), 1.5)


def framed_portrait(name: str, backdrop: str, *, eye_share: float = 0.17, eye_height: float = 0.40,
                    offset_x: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """The photo framed as a station portrait (480x640) on the e-KTP backdrop colour.

    The eyes' distance becomes ``eye_share`` of the frame width, their
    midpoint sits at ``eye_height`` of the frame height and ``0.5 + offset_x``
    of its width; ``roll_deg`` turns the whole person (to test a tilted head).
    """
    p = PORTRAITS[name]
    rgb = load_rgb(p.package, p.path).astype(np.float32)
    mask = head_and_shoulders(rgb.shape, p.left_eye, p.right_eye)
    w, h = FRAME
    mx, my = (p.left_eye[0] + p.right_eye[0]) / 2, (p.left_eye[1] + p.right_eye[1]) / 2
    scale = eye_share * w / (p.right_eye[0] - p.left_eye[0])
    turn = cv2.getRotationMatrix2D((mx, my), roll_deg, scale)
    turn[:, 2] += (w * (0.5 + offset_x) - mx, h * eye_height - my)
    photo = cv2.warpAffine(rgb, turn, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, turn, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[..., None]
    background = np.empty_like(photo)
    background[:] = BACKDROP_RGB[backdrop]
    return np.clip(photo * alpha + background * (1 - alpha) + 0.5, 0, 255).astype(np.uint8)


def in_frame(rgb: np.ndarray, backdrop: str | None = None) -> np.ndarray:
    """A picture as the camera would hand it over (480x640): fitted whole into the frame,
    on the backdrop colour when one is named (else grey)."""
    w, h = FRAME
    k = min(w / rgb.shape[1], h / rgb.shape[0])
    size = (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    out = np.empty((h, w, 3), np.uint8)
    out[:] = BACKDROP_RGB[backdrop] if backdrop else (128, 128, 128)
    y0, x0 = (h - size[1]) // 2, (w - size[0]) // 2
    out[y0 : y0 + size[1], x0 : x0 + size[0]] = small
    return out


def centre_crop_or_fill(rgb: np.ndarray) -> np.ndarray:
    """A picture filling the whole 480x640 frame (scaled up if needed, centre cropped)."""
    w, h = FRAME
    k = max(w / rgb.shape[1], h / rgb.shape[0])
    size = (max(w, round(rgb.shape[1] * k)), max(h, round(rgb.shape[0] * k)))
    big = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    y0, x0 = (size[1] - h) // 2, (size[0] - w) // 2
    return np.ascontiguousarray(big[y0 : y0 + h, x0 : x0 + w])
