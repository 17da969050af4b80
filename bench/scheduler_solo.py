"""Solo 2013 on both planners: days to finish, station-days, idle, the lower bounds, planning time.

Kota Surakarta's 54 kelurahan with the field-fact backlog (415,549 wajib KTP,
383,427 recorded, 32,122 left; spread synthetically, see
controller/scheduler/targets.py), 10 stations, the default turnout model.

    .venv/bin/python bench/scheduler_solo.py [--stations 10] [--sundays-off] [--noise 0.3 --seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from controller.scheduler import Constraints, TurnoutModel, plan_backlog, plan_rotation, simulate, solo_2013_targets

START = date(2013, 10, 1)  # Solo moved recording to the kelurahan in October 2013


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--sundays-off", action="store_true")
    parser.add_argument("--noise", type=float, default=0.0, help="seeded turnout noise for the simulation (demo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="planning runs to time (median reported)")
    args = parser.parse_args()

    targets = solo_2013_targets()
    stations = [f"ST{i:02d}" for i in range(1, args.stations + 1)]
    constraints = Constraints(weekdays_off=frozenset({6}) if args.sundays_off else frozenset())
    model = TurnoutModel(noise=args.noise, seed=args.seed)
    left = sum(t.remaining for t in targets)
    print(
        f"Solo 2013: {len(targets)} kelurahan, {sum(t.wajib_ktp for t in targets):,} wajib KTP, "
        f"{sum(t.recorded for t in targets):,} recorded, {left:,} left; {len(stations)} stations; "
        f"capacity {model.capacity}/station-day, turnout fraction {model.fraction}"
        + (", Sundays off" if args.sundays_off else "")
        + (f", noise {args.noise} seed {args.seed}" if args.noise else "")
    )
    header = (
        f"{'planner':<9} {'days':>5} {'finish':>10} {'used':>6} {'idle':>5} {'wasted':>6} {'LB':>4} {'days/LB':>7} "
        f"{'model LB':>8} {'days/mLB':>8} {'moves':>6} {'33-day rec':>10} {'replans':>7} {'plan ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for planner in (plan_rotation, plan_backlog):
        timings = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            plan = planner(targets, stations, START, constraints, model=model)
            timings.append(time.perf_counter() - t0)
        result = simulate(plan, targets, model)
        first_pass = sum(v.recorded for v in result.visits if (v.date - START).days < 33)
        mlb = result.model_lower_bound
        print(
            f"{result.planner:<9} {result.days:>5} {str(result.finish_date):>10} {result.station_days_used:>6} "
            f"{result.idle_station_days:>5} {result.wasted_station_days:>6} {result.lower_bound:>4} "
            f"{result.ratio:>7.2f} {mlb if mlb is not None else '-':>8} "
            f"{(f'{result.days / mlb:.2f}' if mlb else '-'):>8} {result.moves:>6} {first_pass:>10,} "
            f"{result.replans:>7} {statistics.median(timings) * 1000:>8.1f}"
        )
    print(
        "days: working days to the last kelurahan's target; used/idle/wasted: station-days; LB: "
        "ceil(backlog / fleet capacity a day); model LB: also under the turnout model; "
        "33-day rec: recorded in the first 33 days (one Solo pass)"
    )


if __name__ == "__main__":
    main()
