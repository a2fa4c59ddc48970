"""The admin CLI: users, tokens, chart seeding, trial balance and demo data."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.models import Account, ApiToken, InboundRequisition, SalesInvoice, User
from core.services.chart import DEFAULT_CHART
from core.services.users import user_for_token


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_users_create_makes_a_user_with_the_role_and_a_hashed_password(app, runner):
    result = runner.invoke(args=["users", "create", "alice", "--role", "accountant", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "alice")).scalar_one()
        assert user.role == "accountant"
        assert "s3cret-pass" not in user.password_hash


def test_users_create_refuses_a_taken_username_without_a_traceback(runner):
    runner.invoke(args=["users", "create", "bob", "--password", "long-enough-1"])
    result = runner.invoke(args=["users", "create", "bob", "--password", "long-enough-2"])
    assert result.exit_code == 1
    assert "taken" in result.output
    assert "Traceback" not in result.output


def test_tokens_create_prints_a_token_that_authenticates_its_user(app, runner):
    runner.invoke(args=["users", "create", "carol", "--role", "viewer", "--password", "long-enough-1"])
    result = runner.invoke(args=["tokens", "create", "carol", "--name", "laptop"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    with app.app_context():
        assert user_for_token(token).username == "carol"
        stored = db.session.execute(select(ApiToken)).scalar_one()
        assert stored.token_hash != token and token not in stored.token_hash


def test_tokens_create_for_an_unknown_user_fails_clearly(runner):
    result = runner.invoke(args=["tokens", "create", "nobody"])
    assert result.exit_code == 1
    assert "No user named nobody" in result.output


def test_chart_seed_is_idempotent(app, runner):
    first = runner.invoke(args=["chart", "seed"])
    second = runner.invoke(args=["chart", "seed"])
    assert first.exit_code == second.exit_code == 0
    assert count(app, Account) == len(DEFAULT_CHART)


def test_trial_balance_command_prints_totals_and_zero_difference(runner):
    runner.invoke(args=["demo", "seed"])
    result = runner.invoke(args=["trial-balance"])
    assert result.exit_code == 0, result.output
    assert "Inventory" in result.output
    assert result.output.strip().endswith("Difference: 0.00")


def test_demo_seed_loads_stocked_products_a_sale_and_an_admin_once(app, runner):
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "username: admin" in first.output and "password: " in first.output
    assert count(app, User) == 1
    assert count(app, InboundRequisition) == 1
    assert count(app, SalesInvoice) == 1
    with app.app_context():
        invoice = db.session.execute(select(SalesInvoice)).scalar_one()
        assert invoice.total == Decimal("120.00")  # 2 x 35 + 25 + 25 shipping, VAT inclusive
