"""O11, the simulation: any delivery order, any duplicates, the books of the same history delivered once in order.

Each example enacts a generated store history twice, on a fresh sandbox and a fresh database each time:
run A delivers the captured webhooks once, in order; run B permuted, with duplicates (a delivery moved
later is a delay). Both then fix what is held and re-process. See core/testing/kit/simulation.py.

``make test`` runs a few examples per driver (derandomized); ``MIZAN_SIMULATION_EXAMPLES=500`` runs more,
with a random seed each time. Failures found are kept in ``simulation_corpus.json`` and replayed first.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.testing.kit.simulation import ITEMS, corpus, differences, run, timer

#: Examples per driver in ``make test`` (each is two runs); more with ``MIZAN_SIMULATION_EXAMPLES``.
DEFAULT_EXAMPLES = 20
EXAMPLES = int(os.environ.get("MIZAN_SIMULATION_EXAMPLES") or DEFAULT_EXAMPLES)
#: The bounded run of ``make test``: derandomized, and a failure is reported as found, not shrunk (shrinking
#: takes minutes; the flagged run shrinks to a minimal history).
BOUNDED = not os.environ.get("MIZAN_SIMULATION_EXAMPLES")
PHASES = (Phase.explicit, Phase.reuse, Phase.generate) if BOUNDED else tuple(Phase)
#: Where a failing example is written as a corpus entry (JSON lines), when set.
FOUND = os.environ.get("MIZAN_SIMULATION_FOUND")

#: What the orders sell (``MIZAN_SIMULATION_ITEMS=MUG-01,COF-250`` narrows the search).
SOLD = tuple(os.environ.get("MIZAN_SIMULATION_ITEMS", "").split(",") if os.environ.get("MIZAN_SIMULATION_ITEMS")
             else ITEMS)
#: What becomes of an order after it is placed (``MIZAN_SIMULATION_FATES=pending,complete,cancel`` narrows
#: the search, e.g. to look past a known failure).
FATES = tuple(os.environ.get("MIZAN_SIMULATION_FATES", "").split(",") if os.environ.get("MIZAN_SIMULATION_FATES")
              else ("pending", "complete", "cancel", "refund", "refund_line", "refund_line_twice"))


@st.composite
def histories(draw: Any) -> list[list[Any]]:
    """Orders each with its own story, new products and an SKU fix, interleaved in an order hypothesis chooses."""
    tracks = []
    for label in range(draw(st.integers(1, 5), label="orders")):
        items = draw(st.lists(st.tuples(st.sampled_from(SOLD), st.integers(1, 3)), min_size=1, max_size=2,
                              unique_by=lambda item: item[0]), label="items")
        story = [["order", label, [list(item) for item in items]]]
        fate = draw(st.sampled_from(FATES), label="fate")
        if fate != "pending":
            story.append(["cancel" if fate == "cancel" else "complete", label])
        if fate == "refund":
            story.append(["refund", label])
        elif fate.startswith("refund_line"):
            story += [["refund_line", label, draw(st.integers(0, 1)), draw(st.integers(1, 2))]
                      for _ in range(2 if fate.endswith("twice") else 1)]
        tracks.append(story)
    for number in (1, 2):
        if draw(st.booleans(), label=f"add NEW-{number}"):
            tracks.append([["add_product", number]])
    if draw(st.booleans(), label="fix the SKU"):
        tracks.append([["fix_sku"]])
    history = []
    while tracks:
        track = tracks[draw(st.integers(0, len(tracks) - 1), label="next")]
        history.append(track.pop(0))
        tracks = [t for t in tracks if t]
    return history


def shuffled_schedule(data: st.DataObject) -> Any:
    """A schedule hypothesis chooses: the deliveries permuted, some of them again at chosen places, and
    some neighbours posted at the same moment (from two threads, like two store workers)."""
    def schedule(count: int) -> list[Any]:
        order: list[Any] = data.draw(st.permutations(range(count)), label="permutation")
        if count:
            again = data.draw(st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, count)), max_size=count),
                              label="duplicates (delivery, place)")
            for delivery, place in again:
                order.insert(min(place, len(order)), delivery)
            together = data.draw(st.sets(st.integers(0, len(order) - 2), max_size=2) if len(order) > 1
                                 else st.just(set()), label="posted together with the next")
            for place in sorted(together, reverse=True):
                if place + 1 < len(order) and not any(isinstance(e, list) for e in order[place:place + 2]):
                    order[place:place + 2] = [[order[place], order[place + 1]]]
        return order
    return schedule


def check(in_order: Any, shuffled: Any, record: dict[str, Any]) -> None:
    assert not in_order.refused, f"the in-order run refused or failed: {in_order.refused}"
    assert in_order.books["trial_balance_zero"]
    # after the fix and re-processing nothing may wait for anybody: both runs agreeing on a refund that waits
    # forever (its order never booked) is not a pass
    assert not in_order.books["attention"], f"the in-order run left documents needing attention: {in_order.books['attention']}"
    found = differences(in_order.books, shuffled.books) + [f"shuffled run: {r}" for r in shuffled.refused]
    if found and FOUND:
        with open(FOUND, "a") as out:
            out.write(json.dumps({**record, "history": in_order.steps, "found": found}) + "\n")
    assert not found, "\n".join(found)


@pytest.fixture(scope="session")
def simulation_tally(probe_figures: list[str]) -> Iterator[dict[str, list[Any]]]:
    """Examples, deliveries and seconds per platform, printed as one line each at the end of the session."""
    tally: dict[str, list[Any]] = {}
    yield tally
    for platform, (examples, deliveries, seconds) in sorted(tally.items()):
        probe_figures.append(f"simulation {platform}: {examples} histories, {deliveries} deliveries in order "
                             f"(each also shuffled with duplicates), {seconds:.1f} s")


@pytest.mark.capability("capture")
@settings(max_examples=EXAMPLES, deadline=None, derandomize=BOUNDED, print_blob=True, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(history=histories(), data=st.data())
def test_any_delivery_order_and_duplicates_give_the_books_of_the_in_order_run(
        app, served_app, driver_class, simulation_tally, history, data):
    """O11, O3, R2, O6: the same invoices and returns with the same totals, the same stock, the trial
    balance zero, the same documents held, whatever the order and the duplicates of the deliveries."""
    with timer() as spent:
        in_order = run(app, served_app, driver_class, history)
        schedule: list[Any] = []

        def chosen(count: int) -> list[Any]:
            schedule[:] = shuffled_schedule(data)(count)
            return schedule

        shuffled = run(app, served_app, driver_class, history, chosen)
    tally = simulation_tally.setdefault(driver_class.platform, [0, 0, 0.0])
    tally[0] += 1
    tally[1] += in_order.deliveries
    tally[2] += spent[0]
    check(in_order, shuffled, {"platforms": [driver_class.platform],
                               "schedule": {driver_class.platform: schedule}})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per seed-corpus case; a case still failing on a platform is marked xfail(strict) there."""
    if "corpus_case" not in metafunc.fixturenames:
        return
    metafunc.parametrize("corpus_case", corpus(), ids=[case["case"] for case in corpus()])


@pytest.mark.capability("capture")
def test_the_seed_corpus_gives_the_books_of_the_in_order_run(app, served_app, driver_class, corpus_case, request):
    """O11: each failure the simulation found, replayed for every driver: its own schedule where it was
    found, elsewhere every delivery reversed and sent twice."""
    platform = driver_class.platform
    known = corpus_case.get("known", {}).get(platform)
    if known:
        request.applymarker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=known))
    in_order = run(app, served_app, driver_class, corpus_case["history"])
    kept = corpus_case.get("schedule", {}).get(platform)

    def schedule(count: int) -> list[int]:
        if kept is not None and all(i < count for i in kept):
            return list(kept)
        backwards = list(reversed(range(count)))
        return backwards + backwards

    shuffled = run(app, served_app, driver_class, corpus_case["history"], schedule)
    check(in_order, shuffled, {"case": corpus_case["case"], "platforms": [platform]})

