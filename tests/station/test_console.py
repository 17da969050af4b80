"""The enrollment console in Bahasa Indonesia (and English), driven line by line."""

from __future__ import annotations

import io

import pytest

from drivers.scene import Person, Scene
from protocol.keys import ControllerKeys
from protocol.record import FingerException
from station.console import ConsoleOperator
from tests.fixtures.records import SAMPLE_KELURAHAN, SAMPLE_NIK
from tests.fixtures.station import make_station_dir

CK = ControllerKeys.generate()
RESIDENT = Person("resident-1", "F", 1990)


class Resident(io.StringIO):
    """The operator's keyboard, and the resident doing what the last prompt asked."""

    def __init__(self, scene: Scene, out: io.StringIO, answers: list[str]) -> None:
        super().__init__()
        self.scene, self.out, self.answers = scene, out, list(answers)

    def readline(self, *a) -> str:
        prompt = self.out.getvalue().rsplit("\n", 1)[-1]
        self.scene.lift_finger()
        if "Sidik jari" in prompt or "Fingerprint" in prompt:
            position = next(p for p, name in _names() if f" {name} " in prompt)
            self.scene.place_finger(RESIDENT, position)
        elif "Tanda tangan" in prompt or "Signature" in prompt:
            self.scene.sign(RESIDENT)
        elif "Foto wajah" in prompt or "Face photo" in prompt:
            self.scene.stand(RESIDENT)
        return (self.answers.pop(0) + "\n") if self.answers else ""


def _names():
    from station.i18n import FINGERS

    return [(p, n) for lang in ("id", "en") for p, n in FINGERS[lang].items()]


@pytest.fixture
def runtime(tmp_path):
    d = make_station_dir(tmp_path / "st", None, CK)
    scene = Scene(time_scale=0.0)
    rt = d.runtime(scene).start(connect=False)
    yield rt, scene
    rt.stop()


def run_console(rt, scene, answers, language="id"):
    out = io.StringIO()
    op = ConsoleOperator(language, stdin=Resident(scene, out, answers), stdout=out)
    outcome = rt.enrollment(op, "op-1", kelurahan_code=SAMPLE_KELURAHAN, signature_idle_s=0.3).run()
    return outcome, out.getvalue()


def test_whole_enrollment_in_bahasa_indonesia(runtime):
    rt, scene = runtime
    answers = [SAMPLE_NIK, "y", ""] + [""] * 10 + ["", "y"]
    outcome, text = run_console(rt, scene, answers)
    assert outcome is not None
    assert "perempuan, lahir 1990-12-05" in text
    assert "latar biru" in text  # even birth year: blue backdrop
    assert "ibu jari kanan" in text and "kelingking kiri" in text
    assert "Rekaman disegel dan disimpan" in text
    assert SAMPLE_NIK not in text  # only the masked NIK is shown
    assert rt.outbox.stats().pending == 1


def test_operator_records_an_amputated_finger(runtime):
    rt, scene = runtime
    amputated = list(FingerException).index(FingerException.AMPUTATED) + 1
    answers = [SAMPLE_NIK, "y", ""] + ["", "", "", "", "", "", f"x{amputated}", "", "", ""] + ["", "y"]
    outcome, text = run_console(rt, scene, answers)
    assert outcome.exceptions == {7: FingerException.AMPUTATED}


def test_english_on_request_and_invalid_nik_explained(runtime):
    rt, scene = runtime
    out = io.StringIO()
    op = ConsoleOperator("en", stdin=Resident(scene, out, ["3372053212900001"]), stdout=out)
    assert rt.enrollment(op, "op", kelurahan_code=SAMPLE_KELURAHAN).run() is None
    assert "NIK is not valid: the birth date in the NIK cannot be" in out.getvalue()


def test_invalid_nik_reason_in_bahasa_indonesia(runtime):
    rt, scene = runtime
    out = io.StringIO()
    op = ConsoleOperator("id", stdin=Resident(scene, out, ["337205451290001"]), stdout=out)
    assert rt.enrollment(op, "op", kelurahan_code=SAMPLE_KELURAHAN).run() is None
    assert "NIK tidak valid: NIK harus 16 digit" in out.getvalue()


def test_end_of_input_cancels_without_storing(runtime):
    rt, scene = runtime
    outcome, text = run_console(rt, scene, [SAMPLE_NIK, "y", ""])  # input ends at the first finger
    assert outcome is None
    assert "Perekaman dibatalkan" in text
    assert rt.outbox.stats().depth == 0
