import io

import numpy as np
import pytest
from PIL import Image

from drivers.synthetic import fingerprint
from station.imaging import gray_png


def decode(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    img.load()
    return np.array(img.convert("L"))


def test_four_bit_sensor_images_are_stored_at_four_bits_losslessly():
    a = (fingerprint.render("p", 1) // 17 * 17).astype(np.uint8)
    data = gray_png(a.tobytes(), 256, 288)
    assert data[24] == 4  # IHDR bit depth
    assert np.array_equal(decode(data), a)


def test_eight_bit_images_round_trip():
    a = fingerprint.render("p", 2, width=258, height=202)
    data = gray_png(a.tobytes(), 258, 202)
    assert data[24] == 8
    assert np.array_equal(decode(data), a)


def test_size_mismatch_is_refused():
    with pytest.raises(ValueError, match="needs 6 bytes"):
        gray_png(b"12345", 3, 2)
