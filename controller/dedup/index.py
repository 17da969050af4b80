"""1:N search over a campaign's record vectors: one matrix product per query.

Rows are records (FINGERS*DIM float32, zero where a finger is missing) and a
mask of the fingers each has. A query's score against a row is the mean
similarity over the fingers both have; rows sharing fewer than
``min_common`` fingers score 0. The matrix grows by doubling, so adding a
record is amortised O(1); a search touches every row once (memory-bound:
100,000 records are ~0.5 GB of float32 and one pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controller.dedup.descriptor import DIM, FINGERS


@dataclass(frozen=True)
class Candidate:
    packet_id: str
    score: float
    common: int


class TemplateIndex:
    def __init__(self, capacity: int = 1024, *, min_common: int = 4) -> None:
        self._vecs = np.zeros((capacity, FINGERS * DIM), np.float32)
        self._masks = np.zeros((capacity, FINGERS), np.float32)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self.min_common = min_common

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, packet_id: str) -> bool:
        return packet_id in self._rows

    def add(self, packet_id: str, vec: np.ndarray, mask: np.ndarray) -> None:
        if packet_id in self._rows:
            return
        n = len(self._ids)
        if n == len(self._vecs):
            self._vecs = np.concatenate([self._vecs, np.zeros_like(self._vecs)])
            self._masks = np.concatenate([self._masks, np.zeros_like(self._masks)])
        self._vecs[n], self._masks[n] = vec, mask
        self._ids.append(packet_id)
        self._rows[packet_id] = n

    def search(self, vec: np.ndarray, mask: np.ndarray, *, threshold: float, limit: int = 10,
               exclude: str | None = None) -> list[Candidate]:
        """Rows scoring at least ``threshold``, best first."""
        n = len(self._ids)
        if n == 0 or not mask.any():
            return []
        dots = self._vecs[:n] @ vec.astype(np.float32)
        common = self._masks[:n] @ mask.astype(np.float32)
        scores = np.where(common >= self.min_common, dots / np.maximum(common, 1), 0.0)
        if exclude is not None and exclude in self._rows:
            scores[self._rows[exclude]] = 0.0
        hits = np.flatnonzero((scores >= threshold) & (scores > 0))
        if len(hits) > limit:
            hits = hits[np.argpartition(scores[hits], -limit)[-limit:]]
        hits = hits[np.argsort(scores[hits])[::-1]]
        return [Candidate(self._ids[i], float(scores[i]), int(common[i])) for i in hits]

    def finger_order(self, packet_id: str, vec: np.ndarray) -> list[int]:
        """Finger positions, most alike between the query and this row first (to verify those first)."""
        row = self._vecs[self._rows[packet_id]].reshape(FINGERS, -1)
        per_finger = row @ vec.reshape(FINGERS, -1).T
        sims = np.diag(per_finger)
        return [int(i) + 1 for i in np.argsort(-sims) if sims[i] > 0]
