"""Biometric de-duplication: the templates the devices produce, searched 1:N, sealed at rest."""

from __future__ import annotations

import numpy as np
import pytest

from controller.dedup.descriptor import DIM, FINGERS, finger_vector, minutiae, record_vector
from controller.dedup.index import TemplateIndex
from controller.dedup.sealed import index_key, load_index, seal_row
from drivers.synthetic import fingerprint as synth_fp
from drivers.synthetic.fingerprint.templates import parse_template
from protocol.keys import ControllerKeys

THRESHOLD = 0.90


def templates(person: str, seed: int) -> dict[int, bytes]:
    return {pos: synth_fp.template_from_image(synth_fp.render(person, pos, capture_seed=seed)) for pos in range(1, 11)}


@pytest.fixture(scope="module")
def people():
    return {p: (templates(p, 0), templates(p, 7)) for p in ("ani", "budi", "citra", "dewi", "eko", "fajar")}


def test_minutiae_are_read_as_the_synthetic_sensor_wrote_them(people):
    tpl = people["ani"][0][2]
    ours, theirs = minutiae(tpl), parse_template(tpl).points
    assert np.allclose(ours, theirs[:, :3])
    assert minutiae(b"\x03\x01vendor-template" * 8) is None  # another vendor's format takes no part
    assert finger_vector(b"\x03\x01vendor-template" * 8) is None


def test_a_second_capture_of_the_same_person_is_found_and_others_are_not(people):
    index = TemplateIndex()
    for name, (first, _) in people.items():
        index.add(name, *record_vector(first))
    for name, (_, second) in people.items():
        hits = index.search(*record_vector(second), threshold=THRESHOLD)
        assert [h.packet_id for h in hits] == [name], (name, hits)
        assert hits[0].common == 10


def test_missing_fingers_count_only_where_both_have_them(people):
    index = TemplateIndex(min_common=4)
    first, second = people["budi"]
    index.add("budi", *record_vector(first))
    partial = {p: t for p, t in second.items() if p <= 5}
    hit = index.search(*record_vector(partial), threshold=THRESHOLD)
    assert [(h.packet_id, h.common) for h in hit] == [("budi", 5)]
    assert index.search(*record_vector({1: second[1], 2: second[2]}), threshold=0.0) == []  # too few in common


def test_the_index_grows_and_excludes_the_query_itself(people):
    index = TemplateIndex(capacity=2)
    vec, mask = record_vector(people["citra"][0])
    for i in range(5):
        index.add(f"other-{i}", np.roll(vec, 37 * (i + 1)), mask)
    index.add("citra", vec, mask)
    assert len(index) == 6
    assert [h.packet_id for h in index.search(vec, mask, threshold=0.99)] == ["citra"]
    assert index.search(vec, mask, threshold=0.99, exclude="citra") == []


def test_sealed_rows_open_only_with_the_controller_key(people):
    keys = ControllerKeys.generate()
    vec, mask = record_vector(people["dewi"][0])
    row = seal_row(index_key(keys), "p-1", vec, mask)
    assert vec.astype(np.float16).tobytes()[:64] not in row[2]
    index = load_index(index_key(keys), [row])
    assert len(index) == 1
    hits = index.search(vec, mask, threshold=0.99)
    assert hits and hits[0].packet_id == "p-1"
    assert len(load_index(index_key(ControllerKeys.generate()), [row])) == 0
    assert len(load_index(index_key(keys), [("p-2", row[1], row[2])])) == 0  # moved to another packet
    assert vec.shape == (FINGERS * DIM,)


def test_candidates_are_verified_minutia_by_minutia(people):
    from controller.dedup.sealed import open_templates
    from controller.dedup.verify import FINGER_THRESHOLD, finger_score, same_resident

    first, second = people["eko"]
    assert min(finger_score(first[p], second[p]) for p in range(1, 11)) >= FINGER_THRESHOLD
    other = people["fajar"][1]
    assert max(finger_score(first[p], other[p]) for p in range(1, 11)) < FINGER_THRESHOLD
    assert same_resident(first, second) == (True, 3)  # it stops once three fingers agree
    assert same_resident(first, other)[0] is False
    # a record made of someone else's fingers with one of eko's does not pass as eko
    mixed = {**other, 3: second[3]}
    assert same_resident(first, mixed)[0] is False
    keys = ControllerKeys.generate()
    row = seal_row(index_key(keys), "p-9", *record_vector(first), first)
    assert open_templates(index_key(keys), row) == first
    assert first[1] not in row[2]
