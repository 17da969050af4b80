"""Solo 2013: the fit, the backlog plan against the LP bound and the rotation baselines, the deadline.

Kota Surakarta's 54 kelurahan with the field-fact backlog (415,549 wajib KTP,
383,427 recorded, 32,122 left; spread synthetically, see
controller/scheduler/targets.py), 10 stations from 7 Oct 2013, Sundays,
national holidays and cuti bersama off, deadline 31 Dec 2013, the fitted
turnout model. Each target of issue 13 is printed next to its figure.

    .venv/bin/python bench/scheduler_solo.py [--stations 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from controller.scheduler import Calendar, Constraints, TurnoutModel, plan_backlog, simulate, solo_2013_targets
from controller.scheduler.baselines import best, run_baselines
from controller.scheduler.bound import plan_bound, station_recorded
from controller.scheduler.coverage import coverage
from controller.scheduler.fit import SOLO_DEADLINE, SOLO_START, facts

MIN_PEOPLE = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5, help="planning runs to time (median reported)")
    args = parser.parse_args()

    targets = solo_2013_targets()
    stations = [f"ST{i:02d}" for i in range(1, args.stations + 1)]
    cal = Calendar()
    constraints = Constraints(days_off=cal.days_off(SOLO_START, 1096), weekdays_off=cal.weekdays_off)
    model = TurnoutModel()
    print(f"Solo 2013: {len(targets)} kelurahan, {sum(t.remaining for t in targets):,} left; {len(stations)} stations "
          f"from {SOLO_START}, deadline {SOLO_DEADLINE}; model {model.params.as_dict()}")

    print("\nfit (target: each first-pass fact within +/-15%)")
    for f in facts(targets):
        verdict = "-" if f.within is None else ("ok" if f.within else "MISSED")
        err = f"{100 * f.error:+.1f}%" if f.error is not None else ""
        print(f"  {f.name:<44} {f.role:<9} reported {str(f.field):<18} model {str(f.model):<18} {err:>7}  {verdict}")

    timings = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        plan = plan_backlog(targets, stations, SOLO_START, constraints, model=model, deadline=SOLO_DEADLINE,
                            min_people=MIN_PEOPLE)
        timings.append(time.perf_counter() - t0)
    result = simulate(plan)
    t0 = time.perf_counter()
    bound = plan_bound(plan, station_recorded(result.visits), max_days=result.days + 10)
    lp_s = time.perf_counter() - t0
    cov = coverage(result)
    baselines = run_baselines(targets, stations, SOLO_START, constraints, model, result.recorded,
                              deadline=SOLO_DEADLINE, min_people=MIN_PEOPLE)
    champion = best(baselines)

    def share_by_deadline(r) -> float:
        got = sum(v.recorded for v in r.visits if v.date <= SOLO_DEADLINE)
        return 100 * (cov.recorded_before + got) / cov.wajib

    print(f"\nbacklog plan: {result.days} working days to {result.finish_date}, {result.station_days_used} "
          f"station-days, {result.recorded:,.0f} recorded, {result.moves} moves, planned in "
          f"{1000 * statistics.median(timings):.1f} ms (median of {args.repeat})")
    print(f"LP bound: {bound.days} working days to record the same at kelurahan stations (HiGHS, {lp_s:.1f} s)")
    print("\nrotation baselines (days to finish; days to record as much as the plan; share by the deadline)")
    for b in baselines:
        mark = "  <- best" if b is champion else ""
        print(f"  {b.variant.name:<40} {b.result.days:>4} days  "
              f"{(b.days_to_target if b.days_to_target is not None else 'never'):>5}  "
              f"{share_by_deadline(b.result):6.2f}%{mark}")

    ratio = result.days / bound.days
    print("\ntargets (issue 13)                                        figure                     verdict")
    print(f"  days to finish <= 1.05 x LP bound                       {result.days} / {bound.days} = {ratio:.3f}"
          f"{'':<9}{'ok' if ratio <= 1.05 else 'MISSED'}")
    to = champion.days_to_target
    print(f"  fewer days than the best rotation variant               {result.days} vs {to if to else 'never'} "
          f"({champion.variant.name})  {'ok' if to is None or result.days < to else 'MISSED'}")
    print(f"  share of wajib KTP by {SOLO_DEADLINE}: plan / best rotation   {share_by_deadline(result):.2f}% / "
          f"{share_by_deadline(champion.result):.2f}%")
    print(f"  planned station-days expected below {MIN_PEOPLE}                  {result.below_minimum}"
          f"{'':<25}{'ok' if result.below_minimum == 0 else 'MISSED'}")
    print(f"\ncoverage: days to 90/95/98% of wajib KTP {[cov.days_to[x] for x in (0.9, 0.95, 0.98)]} "
          f"(None: not by stations); at the end {100 * cov.final:.2f}%; residue "
          f"{sum(r.office for r in cov.residue):,.0f} to office service, {sum(r.home for r in cov.residue):,.0f} "
          f"to home visits")


if __name__ == "__main__":
    main()
