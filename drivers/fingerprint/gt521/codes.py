"""Numbers of the ADH-Tech GT-521F32/F52 (and GT-511C3) UART protocol.

Owns the command codes, the ACK/NACK reply codes and the NACK error codes,
the names of each for messages, and the module's fixed sizes (images,
templates, Open's extra info), baud rates and database capacity by model.
Pure data: nothing here does I/O or raises; the codec frames these numbers
and maps a NACK to a DeviceError.
"""

from __future__ import annotations

import enum

DEFAULT_DEVICE_ID = 1
DEFAULT_BAUD = 9600
#: Rates the module accepts for ChangeBaudRate (it powers up at 9600).
BAUD_RATES = (9600, 19200, 38400, 57600, 115200)

#: GetImage: the processed capture, 8-bit grey, row-major.
IMAGE_WIDTH = 258
IMAGE_HEIGHT = 202
IMAGE_SIZE = IMAGE_WIDTH * IMAGE_HEIGHT  # 52116
#: GetRawImage: a live QVGA preview, subsampled to 160x120.
RAW_IMAGE_WIDTH = 160
RAW_IMAGE_HEIGHT = 120
RAW_IMAGE_SIZE = RAW_IMAGE_WIDTH * RAW_IMAGE_HEIGHT  # 19200
TEMPLATE_SIZE = 498
#: Open's extra info: firmware version (4), ISO area max size (4), serial (16).
OPEN_INFO_SIZE = 24
IMAGE_DPI = 450

#: Database capacity by model: slots 0..capacity-1.
CAPACITY = {"GT-521F32": 200, "GT-521F52": 3000}

#: EnrollStart's slot for "enrol without saving; Enroll3 returns the template".
ENROLL_NO_SAVE = -1


class Command(enum.IntEnum):
    OPEN = 0x01
    CLOSE = 0x02
    USB_INTERNAL_CHECK = 0x03
    CHANGE_BAUD_RATE = 0x04
    CMOS_LED = 0x12
    GET_ENROLL_COUNT = 0x20
    CHECK_ENROLLED = 0x21
    ENROLL_START = 0x22
    ENROLL1 = 0x23
    ENROLL2 = 0x24
    ENROLL3 = 0x25
    IS_PRESS_FINGER = 0x26
    DELETE_ID = 0x40
    DELETE_ALL = 0x41
    VERIFY = 0x50
    IDENTIFY = 0x51
    VERIFY_TEMPLATE = 0x52
    IDENTIFY_TEMPLATE = 0x53
    CAPTURE_FINGER = 0x60
    MAKE_TEMPLATE = 0x61
    GET_IMAGE = 0x62
    GET_RAW_IMAGE = 0x63
    GET_TEMPLATE = 0x70
    SET_TEMPLATE = 0x71


ACK = 0x30
NACK = 0x31


class Nack(enum.IntEnum):
    TIMEOUT = 0x1001
    INVALID_BAUDRATE = 0x1002
    INVALID_POS = 0x1003
    IS_NOT_USED = 0x1004
    IS_ALREADY_USED = 0x1005
    COMM_ERR = 0x1006
    VERIFY_FAILED = 0x1007
    IDENTIFY_FAILED = 0x1008
    DB_IS_FULL = 0x1009
    DB_IS_EMPTY = 0x100A
    TURN_ERR = 0x100B
    BAD_FINGER = 0x100C
    ENROLL_FAILED = 0x100D
    IS_NOT_SUPPORTED = 0x100E
    DEV_ERR = 0x100F
    CAPTURE_CANCELED = 0x1010
    INVALID_PARAM = 0x1011
    FINGER_IS_NOT_PRESSED = 0x1012


#: NACK parameters below this are not error codes but the slot of a duplicate.
DUPLICATE_LIMIT = 0x1000


def command_name(code: int) -> str:
    try:
        return Command(code).name
    except ValueError:
        return f"command 0x{code:02X}"


def nack_name(code: int) -> str:
    if code < DUPLICATE_LIMIT:
        return f"duplicate of slot {code}"
    try:
        return f"NACK_{Nack(code).name}"
    except ValueError:
        return f"NACK 0x{code:04X}"
