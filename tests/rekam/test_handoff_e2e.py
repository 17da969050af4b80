"""The whole hand-off: Mosquitto, `rekam controller run`, two emulated stations and `rekam central run`.

Residents are enrolled through the real station workflow on emulated devices,
delivered over MQTT, exported by the running controller, judged by the
emulated centre over HTTPS; the statuses come back to the stations, and the
controller purges the confirmed payloads. Then the crashes: the controller
killed (-9) in the middle of an export, and the centre killed in the middle
of a batch; afterwards every record has reached the centre exactly once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from controller.export.client import CentralClient
from controller.export.delivery import HandOff
from controller.export.exporter import Exporter
from drivers.scene import Person, Scene
from protocol.record import FingerException
from rekam.central.residents import realistic_record
from rekam.central.store import CentralStore
from rekam.sandbox import synthetic_niks
from station.scripted import ResidentScript, ScriptedOperator
from tests.fixtures.handoff import make_handoff
from tests.fixtures.mqtt import wait_until
from tests.fixtures.station import make_station_dir

ROOT = Path(__file__).resolve().parents[2]
KEL = "33.72.05.1001"
pytestmark = pytest.mark.slow


def start_central(path: Path, log: Path) -> tuple[subprocess.Popen, str]:
    (path / "central.url").unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "rekam.cli", "central", "run", "--dir", str(path)], cwd=ROOT,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    assert wait_until(lambda: (path / "central.url").exists() or proc.poll() is not None, 30), "central did not start"
    assert proc.poll() is None, log.read_text()[-2000:]
    return proc, (path / "central.url").read_text()


def central_counts(path: Path) -> dict[str, int]:
    store = CentralStore(path / "central.db").open()
    try:
        return store.counts()
    finally:
        store.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_enrollments_reach_the_centre_and_statuses_come_back_to_the_stations(tmp_path, broker):
    h = make_handoff(tmp_path, broker, stations=())
    central, url = start_central(h.central.path, tmp_path / "central.log")
    with open(h.ctl.config_path, "a") as f:
        f.write(f'\n[export]\ncentral_url = "{url}"\ncentral_ca_file = "{h.central.cert}"\n'
                "interval_s = 0.3\nworkers = 1\npurge_grace_days = 0\nretry_min_s = 0.2\n")
    stations = []
    for sid in ("st-01", "st-02"):
        d = make_station_dir(tmp_path / sid, broker, h.ctl.keys, station_id=sid)
        h.ctl.register(sid, d.signing_key)
        stations.append((sid, d))
    controller = h.ctl.spawn(log=tmp_path / "controller.log")
    runtimes = []
    try:
        niks = synthetic_niks(4)
        packets: dict[str, list[str]] = {}
        for i, (sid, d) in enumerate(stations):
            scene = Scene(time_scale=0.0)
            rt = d.runtime(scene).start()
            runtimes.append(rt)
            for j in range(2):
                nik = niks[2 * i + j]
                missing = {9: FingerException.BANDAGED} if (i, j) == (1, 1) else {}
                script = ResidentScript(Person(f"resident-{i}-{j}", "F" if int(nik[6:8]) > 40 else "M", 1990),
                                        nik, missing=missing)
                outcome = rt.enrollment(ScriptedOperator(scene, script), "op-7", kelurahan_code=KEL,
                                        signature_idle_s=0.3).run()
                assert outcome is not None
                packets.setdefault(sid, []).append(outcome.packet_id)
        all_ids = [p for ids in packets.values() for p in ids]

        def station_sees_all(rt, ids, status: str) -> bool:
            return all((s := rt.central_statuses.status(p)) is not None and s.status == status for p in ids)

        for (sid, _), rt in zip(stations, runtimes):
            assert wait_until(lambda: station_sees_all(rt, packets[sid], "DISTRIBUTED"), 90), \
                (sid, rt.central_statuses.statuses(), (tmp_path / "controller.log").read_text()[-3000:])
            assert [s for s, _, _ in rt.central_statuses.history(packets[sid][0])] == [
                "SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD", "PRINTED", "DISTRIBUTED"]
        with h.ctl.store() as store:
            assert wait_until(lambda: all(store.purged(p) for p in all_ids), 30)
            assert all(store.packet_envelope(p) == b"" for p in all_ids)
            assert sorted(store.packets_by_nik(niks[0]) + store.packets_by_nik(niks[3])) == sorted(
                [packets["st-01"][0], packets["st-02"][1]])
            funnel = store.funnel()
            assert [(r.recorded, r.sent, r.enrolled, r.distributed) for r in funnel] == [(4, 4, 4, 4)]
            assert {a.action for a in store.export_audit_trail()} >= {"export.sealed", "export.delivered", "purge"}
            # the dashboard's packet timeline tells the whole story
            kinds = [e.kind for e in store.packet_timeline(all_ids[0])]
            assert kinds[:3] == ["sealed", "stored", "exported"]
            assert kinds.index("purged") > kinds.index("central:SENT_FOR_ENROLLMENT")  # purged once confirmed
            assert [k for k in kinds if k.startswith("central:")] == [
                "central:SENT_FOR_ENROLLMENT", "central:PRINT_READY_RECORD", "central:PRINTED", "central:DISTRIBUTED"]
        counts = central_counts(h.central.path)
        assert counts["records"] == 4 and counts["records_received_twice"] == 0
        # the operator's view on the station
        out = subprocess.run([sys.executable, "-m", "rekam.cli", "station", "outbox", "--config",
                              str(stations[0][1].config_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert packets["st-01"][0] in out.stdout and "DISTRIBUTED" in out.stdout
    finally:
        for rt in runtimes:
            rt.stop()
        stop(controller)
        stop(central)


def _records(n: int) -> list:
    return [realistic_record(nik, KEL, person_id=f"crash-{i}") for i, nik in enumerate(synthetic_niks(n))]


def test_controller_killed_mid_export_resumes_without_sending_a_record_twice(tmp_path):
    h = make_handoff(tmp_path, controller={"export": {"batch_size": 3, "workers": 1}})
    central, url = start_central(h.central.path, tmp_path / "central.log")
    text = h.ctl.config_path.read_text().replace(
        "[export]\n", f'[export]\ncentral_url = "{url}"\ncentral_ca_file = "{h.central.cert}"\n')
    h.ctl.config_path.write_text(text)
    try:
        with h.ctl.store() as store:
            ids = h.store_records(store, _records(15))
        cmd = [sys.executable, "-m", "rekam.cli", "controller", "export", "--config", str(h.ctl.config_path),
               "--actor", "ana"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        db = sqlite3.connect(h.cfg.store_path, timeout=30)
        try:
            assert wait_until(lambda: db.execute("SELECT COUNT(*) FROM export_batches").fetchone()[0] >= 2
                              or proc.poll() is not None, 120)
        finally:
            db.close()
        assert proc.poll() is None, "the export finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        with h.ctl.store() as store:
            half = len(store.batches())
            assert 2 <= half < 5 and store.export_backlog() > 0
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "delivered" in done.stdout
        with h.ctl.store() as store:
            assert store.export_backlog() == 0
            batches = store.batches()
            assert all(b.state == "accepted" for b in batches)
            carried = [p for b in batches for p, _ in store.batch_items(b.batch_id)]
            assert sorted(carried) == sorted(ids)  # each packet in exactly one batch
            runs = [a for a in store.export_audit_trail() if a.action == "export.run"]
            assert runs and runs[-1].actor == "ana" and runs[-1].count == 15 - 3 * half
        files = sorted(p.name.split(".")[0] for p in (h.cfg.export.dir).glob("*.batch"))
        assert files == sorted(b.batch_id for b in batches)  # no orphan left by the killed run
        assert wait_until(lambda: central_counts(h.central.path)["records"] == 15, 30)
        assert central_counts(h.central.path)["records_received_twice"] == 0
    finally:
        stop(central)


def test_central_killed_mid_batch_loses_nothing_and_counts_nothing_twice(tmp_path):
    h = make_handoff(tmp_path, central={"tick_s": 0.05})
    central, url = start_central(h.central.path, tmp_path / "central.log")
    with h.ctl.store() as store:
        ids = h.store_records(store, _records(12))
        settings = h.settings(central_url=url, central_ca_file=h.central.cert, batch_size=4)
        exporter = Exporter(store, h.ctl.keys, settings, origin=h.cfg.controller_id, central_key=h.central_key,
                            signing_key=h.signing_key)
        assert exporter.run("ana").exported == 12
        handoff = HandOff(store, settings, origin=h.cfg.controller_id,
                          client=CentralClient(url, ca_file=h.central.cert), actor="ana")
        try:
            assert handoff.push(force=True)[0] == 3
            os.kill(central.pid, signal.SIGKILL)  # the centre dies with batches received and not all judged
            central.wait(10)
            after_kill = central_counts(h.central.path)
            assert after_kill["batches"] == 3
            # the controller believes nothing more than the centre confirmed; resend everything it asks for
            for b in store.batches():
                store.batch_failed(b.batch_id, "simulated: answer lost", 0)
            with store.transaction() as db:
                db.execute("UPDATE export_batches SET state = 'sealed'")
            assert handoff.push(force=True) == (0, 1)  # the centre is down: nothing lost, retried later
            central, url = start_central(h.central.path, tmp_path / "central.log")
            handoff.client = CentralClient(url, ca_file=h.central.cert)
            assert handoff.push(force=True) == (3, 0)
            assert wait_until(lambda: (handoff.poll() or True) and all(store.central_status(p) for p in ids), 30)
            counts = central_counts(h.central.path)
            assert counts["records"] == 12 and counts["records_received_twice"] == 0
            assert counts["batches"] == 3 and counts["batch_deliveries"] == 6
            assert {store.central_status(p).status for p in ids} <= {
                "SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD", "PRINTED", "DISTRIBUTED"}
        finally:
            handoff.client.close()
            stop(central)


def test_a_second_export_run_is_refused_while_one_runs_and_takes_none_of_its_files(tmp_path):
    """Two runs on one directory: the second took the first's fresh batch files for orphans and deleted them."""
    from controller.export.exporter import ExportBusy

    h = make_handoff(tmp_path)
    with h.ctl.store() as store:
        ids = h.store_records(store, _records(4))
        settings = h.settings(batch_size=2)

        def exporter() -> Exporter:
            return Exporter(store, h.ctl.keys, settings, origin=h.cfg.controller_id, central_key=h.central_key,
                            signing_key=h.signing_key)

        first, second, refusals = exporter(), exporter(), []

        def meanwhile(done: int, total: int) -> None:
            if done == 2:  # the first batch is written and recorded; the second run starts now
                with pytest.raises(ExportBusy, match="another export is running") as err:
                    second.run("budi")
                refusals.append(err.value)

        report = first.run("ana", on_progress=meanwhile)
        assert report.exported == 4 and len(refusals) == 1
        assert sorted(p.name for p in settings.dir.glob("*.batch")) == sorted(f"{b}.batch" for b in report.batches)
        assert store.packets_to_export() == [] and len(ids) == 4
        assert second.run("budi").exported == 0  # free again once the first has finished


def test_a_library_failure_on_one_record_costs_that_record_only(tmp_path, monkeypatch):
    from controller.export import convert, nist

    h = make_handoff(tmp_path)
    with h.ctl.store() as store:
        ids = h.store_records(store, _records(3))
        real_build = nist.build

        def build(record, packet_id, **kw):
            if packet_id == ids[1]:  # what a codec might raise, quoting what it choked on
                raise ValueError(f"cannot pack {record.nik}")
            return real_build(record, packet_id, **kw)

        monkeypatch.setattr(convert.nist, "build", build)
        report = Exporter(store, h.ctl.keys, h.settings(batch_size=3), origin=h.cfg.controller_id,
                          central_key=h.central_key, signing_key=h.signing_key).run("ana")
        assert (report.exported, report.refused) == (2, 1)
        [review] = [r for r in store.handoff_reviews() if r.packet_id == ids[1]]
        assert "ValueError" in review.detail and store.packet_niks([ids[1]])[ids[1]] not in review.detail
        # the running controller leaves it to its review instead of converting it again every cycle;
        # an operator's deliberate run tries it again
        assert store.export_backlog(retry_refused=False) == 0 and store.export_backlog() == 1
        exporter = Exporter(store, h.ctl.keys, h.settings(), origin=h.cfg.controller_id,
                            central_key=h.central_key, signing_key=h.signing_key)
        assert exporter.run("controller", retry_refused=False).refused == 0
        monkeypatch.setattr(convert.nist, "build", real_build)
        assert exporter.run("ana").exported == 1
