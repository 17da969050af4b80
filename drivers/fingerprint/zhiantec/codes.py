"""Numbers of the ZhianTec/Grow UART protocol (R30x, R50x, AS608, FPM10A).

Owns the packet identifiers, instruction codes, confirmation codes with the
manual's meaning of each, and the encodings of the system parameters. Pure
data: nothing here does I/O or raises; the codec frames these numbers and the
driver turns confirmation codes into errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Mapping


class PacketId(IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Instruction(IntEnum):
    GEN_IMG = 0x01
    IMG2TZ = 0x02
    MATCH = 0x03
    SEARCH = 0x04
    REG_MODEL = 0x05
    STORE = 0x06
    LOAD_CHAR = 0x07
    UP_CHAR = 0x08
    DOWN_CHAR = 0x09
    UP_IMAGE = 0x0A
    DOWN_IMAGE = 0x0B
    DELET_CHAR = 0x0C
    EMPTY = 0x0D
    SET_SYS_PARA = 0x0E
    READ_SYS_PARA = 0x0F
    SET_PWD = 0x12
    VFY_PWD = 0x13
    GET_RANDOM_CODE = 0x14
    SET_ADDER = 0x15
    WRITE_NOTEPAD = 0x18
    READ_NOTEPAD = 0x19
    HIGH_SPEED_SEARCH = 0x1B
    TEMPLATE_NUM = 0x1D
    READ_INDEX_TABLE = 0x1F
    GET_IMAGE_EX = 0x28
    CANCEL = 0x30
    AURA_LED_CONFIG = 0x35
    CHECK_SENSOR = 0x36
    GET_ALG_VER = 0x39
    GET_FW_VER = 0x3A
    READ_PROD_INFO = 0x3C
    SOFT_RST = 0x3D
    HANDSHAKE = 0x40


class Confirmation(IntEnum):
    OK = 0x00
    PACKET_RECEIVE_ERROR = 0x01
    NO_FINGER = 0x02
    IMAGE_FAIL = 0x03
    IMAGE_MESSY = 0x06
    FEATURE_FAIL = 0x07
    NO_MATCH = 0x08
    NOT_FOUND = 0x09
    ENROLL_MISMATCH = 0x0A
    BAD_LOCATION = 0x0B
    DB_READ_FAIL = 0x0C
    UPLOAD_FEATURE_FAIL = 0x0D
    PACKET_RESPONSE_FAIL = 0x0E
    UPLOAD_FAIL = 0x0F
    DELETE_FAIL = 0x10
    DB_CLEAR_FAIL = 0x11
    WRONG_PASSWORD = 0x13
    INVALID_IMAGE = 0x15
    FLASH_ERROR = 0x18
    NO_DEFINITION = 0x19
    INVALID_REGISTER = 0x1A
    BAD_REGISTER_VALUE = 0x1B
    BAD_NOTEPAD_PAGE = 0x1C
    PORT_FAIL = 0x1D
    LIBRARY_FULL = 0x1F
    ADDRESS_WRONG = 0x20
    PASSWORD_REQUIRED = 0x21
    TEMPLATE_EMPTY = 0x22
    LIBRARY_EMPTY = 0x24
    TIMEOUT = 0x26
    ALREADY_EXISTS = 0x27
    SENSOR_ERROR = 0x29
    UNSUPPORTED = 0xFC
    HARDWARE_ERROR = 0xFD
    EXECUTION_FAIL = 0xFE


#: What each confirmation code means, for messages a technician reads.
MEANING: Mapping[int, str] = {
    0x00: "command complete",
    0x01: "the module could not read the packet",
    0x02: "no finger on the sensor",
    0x03: "the module failed to image the finger",
    0x06: "the image is too messy to make features",
    0x07: "too few features or too small a print",
    0x08: "the templates do not match",
    0x09: "no matching finger in the library",
    0x0A: "the captures are not of one finger",
    0x0B: "template slot outside the library",
    0x0C: "error reading the template from the library, or it is invalid",
    0x0D: "error uploading the template",
    0x0E: "the module cannot receive the following data packets",
    0x0F: "error uploading the image",
    0x10: "failed to delete the templates",
    0x11: "failed to clear the library",
    0x13: "wrong password",
    0x15: "no valid image in the image buffer",
    0x18: "error writing flash",
    0x19: "undefined error",
    0x1A: "invalid register number",
    0x1B: "invalid register value",
    0x1C: "wrong notepad page",
    0x1D: "the module's port failed",
    0x1F: "the library is full",
    0x20: "wrong module address",
    0x21: "the password must be verified first",
    0x22: "the template buffer is empty",
    0x24: "the library is empty",
    0x26: "timed out",
    0x27: "the finger is already enrolled",
    0x29: "sensor hardware error",
    0xFC: "unsupported command",
    0xFD: "hardware error",
    0xFE: "command execution failed",
}


def meaning(code: int) -> str:
    return MEANING.get(code, f"reserved code 0x{code:02X}")


class SysParam(IntEnum):
    """Parameter numbers of SetSysPara."""

    BAUD = 4  # value N: 9600 * N baud
    SECURITY = 5  # 1..5
    PACKET_SIZE = 6  # code 0..3: 32, 64, 128, 256 bytes


PACKET_SIZES: tuple[int, ...] = (32, 64, 128, 256)
BAUD_UNIT = 9600
BAUD_RATES: tuple[int, ...] = tuple(BAUD_UNIT * n for n in range(1, 13))


def packet_size_code(size: int) -> int:
    try:
        return PACKET_SIZES.index(size)
    except ValueError:
        raise ValueError(f"packet size must be one of {PACKET_SIZES}, got {size}") from None


class AuraMode(IntEnum):
    """R503 LED ring control codes (AuraLedConfig)."""

    BREATHING = 1
    FLASHING = 2
    ON = 3
    OFF = 4
    FADE_ON = 5
    FADE_OFF = 6


class AuraColor(IntEnum):
    RED = 1
    BLUE = 2
    PURPLE = 3
    GREEN = 4
    YELLOW = 5
    CYAN = 6
    WHITE = 7


#: Byte the module sends by itself when it is ready after power-up or SoftRst.
READY_BYTE = 0x55


@dataclass(frozen=True)
class ModelSpec:
    """What one module model has: the numbers a driver and a simulator need.

    R50x modules answer ReadProdInfo and drive an LED ring; the older R30x,
    AS608 and FPM10A do not, and answer instructions they lack with
    ``unknown_code`` (R50x firmware documents 0xFC for that).
    """

    name: str
    make: str
    capacity: int
    width: int = 256
    height: int = 288
    dpi: int = 500
    char_buffers: int = 2
    prod_info: bool = False
    led_ring: bool = False
    unknown_code: int = Confirmation.PACKET_RECEIVE_ERROR
    system_id: int = 0x0000
    sensor: str = "optical"
    firmware: str = ""
    packet_size: int = 128


#: The family members rekam knows; keys are what the station config's ``model`` names.
MODELS: Mapping[str, ModelSpec] = {
    "R307": ModelSpec("R307", "Hangzhou Grow", capacity=1000),
    "R503": ModelSpec(
        "R503",
        "Hangzhou Grow",
        capacity=200,
        width=192,
        height=192,
        dpi=508,
        char_buffers=6,
        prod_info=True,
        led_ring=True,
        unknown_code=Confirmation.UNSUPPORTED,
        sensor="R503",
        firmware="R503 V1.2",
        packet_size=128,
    ),
    "AS608": ModelSpec("AS608", "Synochip", capacity=300),
    "FPM10A": ModelSpec("FPM10A", "ZhianTec", capacity=162),
}

#: Instructions only R50x firmware knows.
R50X_ONLY = frozenset(
    {
        Instruction.GET_IMAGE_EX,
        Instruction.CANCEL,
        Instruction.AURA_LED_CONFIG,
        Instruction.CHECK_SENSOR,
        Instruction.GET_ALG_VER,
        Instruction.GET_FW_VER,
        Instruction.READ_PROD_INFO,
        Instruction.SOFT_RST,
        Instruction.HANDSHAKE,
    }
)
