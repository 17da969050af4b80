"""What each beep pattern sounds like, and the thread that plays them.

A pattern is a tuple of :class:`Tone` steps (sound for ``on_s``, silence for
``off_s``). With an active buzzer only the timing exists, so DONE "rises" in
length; with a tonal buzzer it also rises in pitch.

:class:`BeepPlayer` owns one worker thread. ``play()`` returns at once; a new
pattern cuts the current one short (the newest event is the one that
matters to an operator); waits are on a condition, so ``close()`` ends a
pattern at once. The player knows nothing of gpiozero: it calls ``sound``
and ``silence``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Mapping

from drivers.types import BeepPattern

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tone:
    on_s: float
    off_s: float
    #: Note for a tonal buzzer (gpiozero Tone notation, "A5"); ignored by an active one.
    note: str = "A5"


PATTERNS: Mapping[BeepPattern, tuple[Tone, ...]] = {
    BeepPattern.OK: (Tone(0.08, 0.0, "A5"),),
    BeepPattern.RETRY: (Tone(0.08, 0.08, "A5"), Tone(0.08, 0.0, "A5")),
    BeepPattern.ERROR: (Tone(0.6, 0.0, "A4"),),
    BeepPattern.DONE: (Tone(0.06, 0.06, "C5"), Tone(0.09, 0.06, "E5"), Tone(0.14, 0.0, "G5")),
}


class BeepPlayer:
    """Plays tone sequences on a worker thread without blocking the caller."""

    def __init__(self, sound: Callable[[str], None], silence: Callable[[], None], *, name: str = "beeper") -> None:
        self._sound = sound
        self._silence = silence
        self._cond = threading.Condition()
        self._pending: tuple[Tone, ...] | None = None
        self._generation = 0
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def play(self, tones: tuple[Tone, ...]) -> None:
        with self._cond:
            if self._closed:
                return
            self._pending = tones
            self._generation += 1
            self._busy = True
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is playing; False if still playing at ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def close(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                tones, self._pending = self._pending, None
                generation = self._generation
            assert tones is not None
            try:
                for tone in tones:
                    self._sound(tone.note)
                    if self._interrupted(tone.on_s, generation):
                        break
                    self._silence()
                    if tone.off_s and self._interrupted(tone.off_s, generation):
                        break
            except Exception:  # a failing buzzer must not kill the player
                log.exception("buzzer failed while playing a pattern")
            finally:
                try:
                    self._silence()
                except Exception:
                    log.exception("buzzer failed to go quiet")
            with self._cond:
                if self._pending is None:
                    self._busy = False
                    self._cond.notify_all()

    def _interrupted(self, seconds: float, generation: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._closed or self._generation != generation, seconds)
