"""The Arabic catalogue: complete, compilable, placeholders intact, and used by the pages (with RTL)."""
from __future__ import annotations

import io
import re
from configparser import RawConfigParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
ARABIC_PO = ROOT / "core" / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
ARABIC = re.compile(r"[\u0600-\u06FF]")
#: Python %-formatting: %(name)s, %s, %d, %%...
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _catalogue():
    with ARABIC_PO.open("rb") as handle:
        return read_po(handle, locale="ar")


def _messages():
    """Every real message (not the header, not obsolete ones) of the Arabic catalogue."""
    return [message for message in _catalogue() if message.id]


def _forms(value) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def test_catalogue_compiles():
    catalogue = _catalogue()
    assert catalogue.num_plurals == 6
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    assert buffer.getvalue()
    errors = [(message.id, error) for message, errors in catalogue.check() for error in errors]
    assert not errors, errors


def test_every_entry_is_translated_and_none_is_fuzzy():
    messages = _messages()
    assert len(messages) > 400
    untranslated = [m.id for m in messages if not all(form.strip() for form in _forms(m.string))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"
    plural = [m for m in messages if isinstance(m.id, tuple)]
    assert all(len(m.string) == 6 for m in plural), [m.id for m in plural if len(m.string) != 6]


def test_placeholders_are_kept():
    wrong = []
    for message in _messages():
        wanted = sorted(PLACEHOLDER.findall(_forms(message.id)[-1]))
        for form in _forms(message.string):
            if sorted(PLACEHOLDER.findall(form)) != wanted:
                wrong.append((message.id, form))
    assert not wrong, wrong


def test_translations_are_arabic():
    """Every msgstr has Arabic letters (codes such as SKU may stay, but never the English alone)."""
    english = [m.id for m in _messages() if not all(ARABIC.search(form) for form in _forms(m.string))]
    assert not english, english


def _method_map() -> list[tuple[str, str]]:
    parser = RawConfigParser()
    parser.read(ROOT / "babel.cfg")
    return [(section.split(":", 1)[1].strip(), section.split(":", 1)[0].strip()) for section in parser.sections()]


def test_catalogue_has_every_string_of_the_sources():
    """What ``make translations-update`` would extract is all in the catalogue."""
    known = {_forms(message.id)[0] for message in _messages()}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
    missing = sorted(
        {
            _forms(message)[0]
            for _filename, _lineno, message, _comments, _context in extract_from_dir(
                str(ROOT), _method_map(), keywords=keywords, strip_comment_tags=True
            )
            if _forms(message)[0]
        }
        - known
    )
    assert not missing, f"run `make translations-update` and translate: {missing}"


@pytest.fixture
def arabic_pages(app, tmp_path, monkeypatch):
    """The app with the catalogue compiled now from the .po (not a possibly stale .mo)."""
    target = tmp_path / "ar" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as handle:
        write_mo(handle, _catalogue())
    config = app.extensions["babel"]
    monkeypatch.setattr(config, "translation_directories", [str(tmp_path)])
    with app.app_context():
        domain = config.instance.domain_instance
    monkeypatch.setattr(domain, "cache", {})  # translations loaded before are forgotten, then restored
    return app


def test_pages_in_arabic_are_right_to_left(arabic_pages, web):
    admin = web("admin")
    admin.use_language("ar")
    page = admin.text("/")
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    for label in ("لوحة التحكم", "المحاسبة", "المبيعات", "المتاجر", "المزامنة", "الإضافات", "تسجيل الخروج"):
        assert label in page, label
    assert ">Dashboard<" not in page
    assert "مدير النظام" in page  # the role, through _(current_user.role)
    accounts = admin.text("/accounting/accounts")
    assert "شجرة الحسابات" in accounts and 'dir="rtl"' in accounts
    assert "ميزان المراجعة" in admin.text("/accounting/trial-balance")


def test_sign_in_page_in_arabic(arabic_pages, client):
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    client.post("/language/ar", data={"csrf_token": token.group(1), "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert "تسجيل الدخول" in page and "كلمة المرور" in page


def test_english_stays_left_to_right(arabic_pages, web):
    page = web("viewer").text("/")
    assert 'dir="ltr"' in page and "Dashboard" in page
