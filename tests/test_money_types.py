"""core/models/types.py Fixed: exact Decimal round trips and half-up rounding on both databases."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from core.extensions import db
from core.models.types import Fixed, Money, Quantity, UnitCost

D = Decimal
probe_metadata = MetaData()
probe = Table(
    "fixed_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("money", Money),
    Column("qty", Quantity),
    Column("cost", UnitCost),
)


@pytest.fixture
def table(ctx):
    """A scratch table with a Money, a Quantity and a UnitCost column (dropped afterwards)."""
    probe_metadata.create_all(db.engine)
    try:
        yield probe
    finally:
        db.session.remove()
        probe_metadata.drop_all(db.engine)


def round_trip(rows: list[dict]) -> list[tuple]:
    with db.engine.begin() as connection:
        connection.execute(probe.delete())
        connection.execute(insert(probe), [{"id": i, **row} for i, row in enumerate(rows, 1)])
        return [
            tuple(r)
            for r in connection.execute(select(probe.c.money, probe.c.qty, probe.c.cost).order_by(probe.c.id))
        ]


def test_storage_is_exact_integers_on_sqlite_and_numeric_on_postgresql(table):
    impl = Money.dialect_impl(db.engine.dialect)
    expected = "BIGINT" if db.engine.dialect.name == "sqlite" else "NUMERIC(18, 2)"
    assert impl.compile(dialect=db.engine.dialect) == expected


@pytest.mark.parametrize(
    ("column", "value", "stored"),
    [
        ("money", "2.345", "2.35"),  # half-up, not banker's rounding (2.34)
        ("money", "2.355", "2.36"),
        ("money", "-2.345", "-2.35"),  # half away from zero, like core.money.money()
        ("money", "0.004", "0.00"),
        ("qty", "1.0005", "1.001"),
        ("qty", "0.0025", "0.003"),
        ("cost", "3.14145", "3.1415"),
        ("cost", "-0.00005", "-0.0001"),
    ],
)
def test_values_with_more_places_round_half_up_when_stored(table, column, value, stored):
    row = {"money": D("0"), "qty": D("0"), "cost": D("0"), column: D(value)}
    money_, qty, cost = round_trip([row])[0]
    assert {"money": money_, "qty": qty, "cost": cost}[column] == D(stored)
    assert str({"money": money_, "qty": qty, "cost": cost}[column]) == stored


def test_loaded_values_carry_the_columns_places(table):
    assert round_trip([{"money": D("5"), "qty": D("2"), "cost": D("1.5")}]) == [
        (D("5.00"), D("2.000"), D("1.5000"))
    ]
    money_, qty, cost = round_trip([{"money": D("5"), "qty": D("2"), "cost": D("1.5")}])[0]
    assert (str(money_), str(qty), str(cost)) == ("5.00", "2.000", "1.5000")


def test_none_stays_none_and_floats_go_through_their_decimal_text(table):
    assert round_trip([{"money": None, "qty": 0.1, "cost": 0.3}]) == [(None, D("0.100"), D("0.3000"))]


def test_fixed_keeps_scale_and_precision_in_its_repr_for_migrations():
    assert repr(Fixed(4)) == "Fixed(scale=4, precision=18)"
    assert (Money.scale, Quantity.scale, UnitCost.scale) == (2, 3, 4)


LIMIT = D("1000000000000")  # 10^12, well inside NUMERIC(18, s) and a 64-bit integer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=-LIMIT, max_value=LIMIT, places=2),
            st.decimals(min_value=-LIMIT, max_value=LIMIT, places=3),
            st.decimals(min_value=-LIMIT, max_value=LIMIT, places=4),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_decimals_with_the_columns_places_round_trip_exactly(table, values):
    rows = [{"money": m, "qty": q, "cost": c} for m, q, c in values]
    loaded = round_trip(rows)
    assert loaded == [tuple(v) for v in values]
    for (m, q, c), (lm, lq, lc) in zip(values, loaded, strict=True):
        assert lm.as_tuple().exponent == -2 and lq.as_tuple().exponent == -3
        assert lc.as_tuple().exponent == -4
        assert (lm, lq, lc) == (m, q, c)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.decimals(min_value=-LIMIT, max_value=LIMIT, places=6), min_size=1, max_size=20))
def test_any_decimal_is_stored_as_core_money_rounds_it(table, values):
    from core.money import money, quantity, unit_cost

    loaded = round_trip([{"money": v, "qty": v, "cost": v} for v in values])
    assert loaded == [(money(v), quantity(v), unit_cost(v)) for v in values]


def test_sums_in_sql_stay_exact(table):
    """Summing 0.10 ten thousand times in SQL gives exactly 1000.00 (no float drift)."""
    from sqlalchemy import func

    with db.engine.begin() as connection:
        rows = [{"id": i, "money": D("0.10"), "qty": D("0.001"), "cost": D("0")} for i in range(1, 10001)]
        connection.execute(insert(probe), rows)
        total, qty = connection.execute(select(func.sum(probe.c.money), func.sum(probe.c.qty))).one()
    assert (total, qty) == (D("1000.00"), D("10.000"))  # sum() keeps the column type
