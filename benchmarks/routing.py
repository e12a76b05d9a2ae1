"""Routing decisions against 1,000 patient profiles (issue: "well under a millisecond per decision").

Run: .venv/bin/python benchmarks/routing.py [--profiles 1000] [--requests 20000]

Two layouts: profiles spread over 20 specialisms (a large region), and the worst case of all
profiles in the requested specialism. The baseline, measured in the same run, is the floor any
matcher pays: one pass over the same number of profile tuples comparing a single field.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date

from triage_service.routing.matching import CompiledProfile, RoutingRequest, RoutingTable

SPECIALISMS = ["0301", "0302", "0303", "0305", "0306", "0307", "0310", "0313", "0316", "0318", "0320", "0322",
               "0324", "0329", "0330", "0335", "optometrist", "kaderhuisarts-dermatologie", "nurse-specialist",
               "extended-scope-physiotherapist"]
CHAPTERS = "ABDFHKLNPRSTUWXYZ"
FORMS = ["e-consult", "intercollegial-consult", "video-consult", "ecms"]


def make_profiles(n: int, specialisms: list[str], rng: random.Random) -> list[CompiledProfile]:
    profiles = []
    for i in range(n):
        chapter = rng.choice(CHAPTERS)
        low = rng.choice([0, 0, 18, 40, 65])
        forms = frozenset(rng.sample(FORMS, rng.randint(1, 3)))
        profiles.append(CompiledProfile(
            profile_id=f"p{i}", profile_name=f"profile {i}", agreement_id=f"a{i // 5}", agreement_code=f"A{i // 5}",
            specialism=rng.choice(specialisms),
            icpc_codes=frozenset(f"{chapter}{rng.randint(1, 99):02d}" for _ in range(rng.randint(0, 6))),
            icpc_chapters=frozenset(rng.sample(CHAPTERS, rng.randint(0, 2))),
            min_age=low, max_age=rng.choice([None, 17, 64, 120]) if low < 17 else rng.choice([None, 120]),
            sex=rng.choice([None, None, None, "female"]),
            postcode_ranges=((rng.randint(1000, 5000), rng.randint(5000, 9999)),) if rng.random() < 0.5 else (),
            forms=forms, min_photos=rng.choice([0, 0, 1, 2]), insurers=frozenset(rng.sample(
                ["3311", "3343", "3358", "3360", "0101"], rng.randint(1, 4))),
            agreement_forms=frozenset(FORMS), valid_from=date(2026, 1, 1), valid_until=None,
            specialist_agbs=(f"{i:08d}",), group_queue=False, subcontractor_agb="06000000",
            subcontractor_name="x", answer_norms={}))
    return profiles


def make_requests(n: int, specialisms: list[str], rng: random.Random) -> list[RoutingRequest]:
    return [RoutingRequest(specialism=rng.choice(specialisms),
                           icpc_codes=(f"{rng.choice(CHAPTERS)}{rng.randint(1, 99):02d}",), age=rng.randint(0, 95),
                           sex=rng.choice(["female", "male"]), postcode=rng.randint(1000, 9999),
                           insurer=rng.choice(["3311", "3343", "3358"]), form=rng.choice(FORMS),
                           photo_count=rng.randint(0, 4), on=date(2026, 11, 23)) for _ in range(n)]


def per_call_us(fn: object, items: list[object], repeats: int = 5) -> float:
    """Median over repeats of the mean time per call, in microseconds."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)  # type: ignore[operator]
        runs.append((time.perf_counter() - start) / len(items) * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    rng = random.Random(20261123)

    layouts = {"spread over 20 specialisms": SPECIALISMS, "all in one specialism (worst case)": ["0310"]}
    print(f"Routing benchmark: {args.profiles} profiles, {args.requests} requests, median of 5 runs")
    print(f"{'layout':<38}{'match/decision':>16}{'baseline scan':>16}{'ratio':>8}{'matched':>9}")
    for name, specialisms in layouts.items():
        profiles = make_profiles(args.profiles, specialisms, rng)
        requests = make_requests(args.requests, specialisms, rng)
        table = RoutingTable(profiles)
        rows = [(p.specialism, p.min_age, p.max_age) for p in profiles]

        def baseline(request: RoutingRequest, rows: list[tuple[str, int | None, int | None]] = rows) -> int:
            # The floor: one pass over every profile comparing one field.
            return sum(1 for s, _, _ in rows if s == request.specialism)

        matched = sum(1 for r in requests if table.match(r).matches)
        ours = per_call_us(table.match, requests)  # type: ignore[arg-type]
        floor = per_call_us(baseline, requests)  # type: ignore[arg-type]
        print(f"{name:<38}{ours:>13.1f} us{floor:>13.1f} us{ours / floor:>8.2f}{matched / len(requests):>8.0%}")


if __name__ == "__main__":
    main()
