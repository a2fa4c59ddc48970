"""Journal entries over the API: manual entries, reversals and the account ledger."""
import pytest

from core.models import JournalEntry


@pytest.fixture
def accounts(api) -> dict[str, int]:
    items = api.get("/accounts?per_page=500").get_json()["items"]
    return {a["key"]: a["id"] for a in items if a["key"]}


def manual(accounts, amount="100.00", **extra) -> dict:
    return {
        "date": "2026-03-01", "memo": "Owner's capital",
        "lines": [
            {"account_id": accounts["cash"], "debit": amount},
            {"account_id": accounts["opening_balance_equity"], "credit": amount},
        ],
        **extra,
    }


def test_manual_entry_is_posted_shown_and_listed(api, accounts):
    response = api.post("/journal-entries", manual(accounts))
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry["source_type"] == "manual" and len(entry["lines"]) == 2
    assert [(ln["debit"], ln["credit"]) for ln in entry["lines"]] == [("100.00", "0.00"), ("0.00", "100.00")]
    assert api.get(response.headers["Location"].removeprefix("/api/v1")).get_json() == entry
    assert api.get("/journal-entries?source_type=manual").get_json()["items"] == [entry]


def test_invalid_entry_gets_422(api, accounts, count_rows):
    cases = {
        "one line": ({"lines": [{"account_id": 1, "debit": "5"}]}, "lines"),
        "negative": ({"lines": [{"account_id": 1, "debit": "-5"}, {"account_id": 2, "credit": "-5"}]}, "lines.0.debit"),
        "bad date": ({"date": "yesterday"}, "date"),
    }
    for case, (change, field) in cases.items():
        response = api.post("/journal-entries", {**manual(accounts), **change})
        assert response.status_code == 422, case
        assert field in response.get_json()["error"]["fields"], case
    assert count_rows(JournalEntry) == 0


def test_unbalanced_or_group_account_entry_is_refused_by_the_books(api, accounts):
    body = manual(accounts)
    body["lines"][1]["credit"] = "90.00"
    error = api.post("/journal-entries", body).get_json()["error"]
    assert error["status"] == 422 and "differ by 10.00" in error["message"]
    group = api.get("/accounts?per_page=500").get_json()["items"][0]
    body = manual(accounts)
    body["lines"][0]["account_id"] = group["id"]
    assert "group account" in api.post("/journal-entries", body).get_json()["error"]["message"]


def test_reversal_mirrors_the_entry_once(api, accounts):
    entry = api.post("/journal-entries", manual(accounts)).get_json()
    response = api.post(f"/journal-entries/{entry['id']}/reverse")
    assert response.status_code == 201, response.get_json()
    reversal = response.get_json()
    assert reversal["reverses_id"] == entry["id"] and reversal["source_type"] == "reversal"
    assert [(ln["debit"], ln["credit"]) for ln in reversal["lines"]] == [("0.00", "100.00"), ("100.00", "0.00")]
    again = api.post(f"/journal-entries/{entry['id']}/reverse", {"date": "2026-03-05"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    report = api.get("/reports/trial-balance").get_json()
    assert all(r["balance"] == "0.00" for r in report["rows"])


def test_reversal_with_date_and_memo(api, accounts):
    entry = api.post("/journal-entries", manual(accounts)).get_json()
    reversal = api.post(f"/journal-entries/{entry['id']}/reverse", {"date": "2026-03-31", "memo": "Typo"}).get_json()
    assert (reversal["date"], reversal["memo"]) == ("2026-03-31", "Typo")


def test_document_entries_and_unknown_entries_cannot_be_reversed(api, shop):
    invoice_entry = api.get("/journal-entries?source_type=inbound_requisition").get_json()["items"][0]
    response = api.post(f"/journal-entries/{invoice_entry['id']}/reverse")
    assert response.status_code == 422 and "correct it through" in response.get_json()["error"]["message"]
    assert api.post("/journal-entries/999999999/reverse").status_code == 404


def test_viewer_cannot_reverse(api, accounts):
    entry = api.post("/journal-entries", manual(accounts)).get_json()
    assert api.post(f"/journal-entries/{entry['id']}/reverse", role="viewer").status_code == 403


def test_ledger_shows_running_balance_and_opening_balance(api, accounts):
    api.post("/journal-entries", manual(accounts, "100.00"))
    api.post("/journal-entries", manual(accounts, "50.00", date="2026-04-01"))
    api.post("/journal-entries", manual(accounts, "25.00", date="2026-05-01"))
    ledger = api.get(f"/accounts/{accounts['cash']}/ledger").get_json()
    assert [r["balance"] for r in ledger["items"]] == ["100.00", "150.00", "175.00"]
    assert (ledger["opening_balance"], ledger["closing_balance"], ledger["total"]) == ("0.00", "175.00", 3)
    april = api.get(f"/accounts/{accounts['cash']}/ledger?date_from=2026-04-01&date_to=2026-04-30").get_json()
    assert (april["opening_balance"], april["closing_balance"]) == ("100.00", "150.00")
    assert [r["debit"] for r in april["items"]] == ["50.00"]
    equity = api.get(f"/accounts/{accounts['opening_balance_equity']}/ledger?per_page=2&page=2").get_json()
    assert [r["balance"] for r in equity["items"]] == ["175.00"]  # credit-normal, shown positive
    assert api.get("/accounts/999999999/ledger").status_code == 404
    assert api.get(f"/accounts/{accounts['cash']}/ledger?date_from=someday").status_code == 400
