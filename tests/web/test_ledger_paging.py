"""The web ledger shows 100 postings a page with previous/next links; balances carry across pages."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from core.extensions import db
from core.services.chart import account_by_key
from tests.builders import Builders

POSTINGS = 101


def test_ledger_pages_carry_the_running_balance_and_link_to_each_other(app, web):
    with app.app_context():
        build = Builders()
        for n in range(POSTINGS):  # 1.00, 2.00, ... into cash, one a day
            build.manual_entry([("cash", f"{n + 1}", "0"), ("bank", "0", f"{n + 1}")],
                               entry_date=date(2026, 1, 1) + timedelta(days=n))
        cash = account_by_key("cash").id
        db.session.remove()
    client = web("viewer")

    def page(query: str = "") -> str:  # amounts without thousands separators
        return client.text(f"/accounting/accounts/{cash}/ledger{query}").replace(",", "")

    first = page()
    closing = f"{sum(range(1, POSTINGS + 1))}.00"
    assert 'id="opening-balance">0.00' in first and f'id="closing-balance">{closing}' in first
    assert "Page 1 of 2" in first and "page=2" in first and "Previous" not in first
    assert len(re.findall(r'<td class="num">[\d.]+</td>\s*</tr>', first)) == 100
    assert f">{sum(range(1, 101))}.00<" in first  # the balance after the 100th posting
    second = page("?page=2")
    assert "Page 2 of 2" in second and "Previous" in second and "Next" not in second
    assert f'<td class="num">{closing}</td>' in second
    assert f'id="closing-balance">{closing}' in second  # the period's totals on every page
    assert f">{Decimal(POSTINGS):.2f}<" in second
    period = page("?date_from=2026-04-01&page=2")
    opening = f"{sum(range(1, 91))}.00"  # January to March: 90 days
    assert f'id="opening-balance">{opening}' in period and "Page 2 of 1" not in period
