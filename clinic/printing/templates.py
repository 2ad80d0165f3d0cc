"""Every text printed on a ticket, a receipt or a slip, in Russian, Uzbek and English: the one
place to edit them. A printer speaks the languages it is set to (``Printer.languages``, "ru+uz"
by default), each label printed as "Талон / Talon".

Uzbek is written with the plain apostrophe (``o'``, ``g'``), as on the pages, the e-mails and
in the sums (``so'm``): a receipt never writes one word two ways. A name typed with the
modifier letter ʻ (U+02BB) keeps it in a PDF; the thermal printer's code page has no such
letter, so :mod:`clinic.printing.thermal` prints it as "'".
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "ticket": {"ru": "Талон", "uz": "Talon", "en": "Ticket"},
    "department": {"ru": "Отделение", "uz": "Bo'lim", "en": "Department"},
    "room": {"ru": "Кабинет", "uz": "Xona", "en": "Room"},
    "issued": {"ru": "Выдан", "uz": "Berilgan", "en": "Issued"},
    "ahead": {"ru": "Перед вами", "uz": "Oldingizda", "en": "People ahead"},
    "follow": {
        "ru": "Следите за очередью по QR-коду",
        "uz": "Navbatni QR-kod orqali kuzating",
        "en": "Follow the queue with the QR code",
    },
    "receipt": {"ru": "Чек", "uz": "Chek", "en": "Receipt"},
    "refund_receipt": {"ru": "Чек возврата", "uz": "Qaytarish cheki", "en": "Refund receipt"},
    "payment_receipt": {"ru": "Чек оплаты", "uz": "To'lov cheki", "en": "Payment receipt"},
    "shift_report": {
        "ru": "Z-отчёт смены",
        "uz": "Smena Z-hisoboti",
        "en": "Shift Z report",
    },
    "visit_slip": {"ru": "Направление на приём", "uz": "Qabulga yo'llanma", "en": "Visit slip"},
    "invoice": {"ru": "Счёт", "uz": "Hisob", "en": "Invoice"},
    "taxpayer": {"ru": "ИНН", "uz": "STIR", "en": "Taxpayer no."},
    "terminal": {"ru": "Терминал / ФМ", "uz": "Terminal / FM", "en": "Terminal / FM"},
    "number": {"ru": "Номер", "uz": "Raqam", "en": "Number"},
    "date": {"ru": "Дата", "uz": "Sana", "en": "Date"},
    "patient": {"ru": "Пациент", "uz": "Bemor", "en": "Patient"},
    "doctor": {"ru": "Врач", "uz": "Shifokor", "en": "Doctor"},
    "visit": {"ru": "Визит", "uz": "Tashrif", "en": "Visit"},
    "cashier": {"ru": "Кассир", "uz": "Kassir", "en": "Cashier"},
    "ikpu": {"ru": "ИКПУ", "uz": "MXIK", "en": "IKPU"},
    "package": {"ru": "Код упаковки", "uz": "Qadoq kodi", "en": "Package code"},
    "vat": {"ru": "НДС", "uz": "QQS", "en": "VAT"},
    "discount": {"ru": "Скидка", "uz": "Chegirma", "en": "Discount"},
    "total": {"ru": "Итого", "uz": "Jami", "en": "Total"},
    "paid": {"ru": "Оплачено", "uz": "To'langan", "en": "Paid"},
    "paid_before": {"ru": "Оплачено ранее", "uz": "Avval to'langan", "en": "Paid before"},
    "this_payment": {"ru": "Эта оплата", "uz": "Ushbu to'lov", "en": "This payment"},
    "amount_due": {"ru": "Остаток к оплате", "uz": "To'lov qoldig'i", "en": "Remaining due"},
    "paid_in_full": {
        "ru": "ОПЛАЧЕНО ПОЛНОСТЬЮ",
        "uz": "TO'LIQ TO'LANGAN",
        "en": "PAID IN FULL",
    },
    "tendered": {"ru": "Получено", "uz": "Olindi", "en": "Tendered"},
    "change": {"ru": "Сдача", "uz": "Qaytim", "en": "Change"},
    "method": {"ru": "Способ оплаты", "uz": "To'lov usuli", "en": "Payment method"},
    "fiscal_sign": {"ru": "Фискальный признак", "uz": "Fiskal belgi", "en": "Fiscal sign"},
    "fiscal_receipt": {"ru": "Фискальный чек", "uz": "Fiskal chek", "en": "Fiscal receipt"},
    "not_fiscal": {
        "ru": "НЕФИСКАЛЬНЫЙ ДОКУМЕНТ",
        "uz": "FISKAL HUJJAT EMAS",
        "en": "NOT A FISCAL RECEIPT",
    },
    "refunded": {"ru": "Возвращено", "uz": "Qaytarildi", "en": "Refunded"},
    "refunded_in_full": {
        "ru": "ВОЗВРАЩЕНО ПОЛНОСТЬЮ",
        "uz": "TO'LIQ QAYTARILDI",
        "en": "REFUNDED IN FULL",
    },
    "cancelled": {"ru": "АННУЛИРОВАН", "uz": "BEKOR QILINGAN", "en": "CANCELLED"},
    "reason": {"ru": "Причина", "uz": "Sabab", "en": "Reason"},
    "opened": {"ru": "Открыта", "uz": "Ochilgan", "en": "Opened"},
    "closed": {"ru": "Закрыта", "uz": "Yopilgan", "en": "Closed"},
    "opening_cash": {"ru": "Наличные на начало", "uz": "Boshidagi naqd", "en": "Opening cash"},
    "cash_taken": {"ru": "Наличные", "uz": "Naqd", "en": "Cash taken"},
    "card_taken": {"ru": "Карта", "uz": "Karta", "en": "Card taken"},
    "cash_refunded": {"ru": "Возврат наличными", "uz": "Naqd qaytarish", "en": "Cash refunded"},
    "card_refunded": {"ru": "Возврат на карту", "uz": "Kartaga qaytarish", "en": "Card refunded"},
    "expected_cash": {"ru": "Ожидается в кассе", "uz": "Kassada kutilgan", "en": "Expected cash"},
    "counted_cash": {"ru": "Пересчитано", "uz": "Sanalgan", "en": "Counted cash"},
    "discrepancy": {"ru": "Расхождение", "uz": "Farq", "en": "Discrepancy"},
    "when": {"ru": "Время", "uz": "Vaqt", "en": "Time"},
    "service": {"ru": "Услуга", "uz": "Xizmat", "en": "Service"},
    "test_page": {"ru": "Пробная печать", "uz": "Sinov chop etish", "en": "Test print"},
    "copy": {"ru": "КОПИЯ", "uz": "NUSXA", "en": "COPY"},
    "thanks": {"ru": "Спасибо!", "uz": "Rahmat!", "en": "Thank you!"},
    "cash": {"ru": "Наличные", "uz": "Naqd", "en": "Cash"},
    "card": {"ru": "Карта", "uz": "Karta", "en": "Card"},
    "payme": {"ru": "Payme", "uz": "Payme", "en": "Payme"},
    "click": {"ru": "Click", "uz": "Click", "en": "Click"},
}

# The copy mark a reprint carries, whatever the printer's languages (PROTOCOLS.md).
COPY_MARK = "КОПИЯ / COPY"
DEFAULT_LANGUAGES = ("ru", "uz")


def say(key: str, languages=DEFAULT_LANGUAGES) -> str:
    """The label ``key`` in each of ``languages``, "/"-joined, each said once."""
    said: list[str] = []
    for language in languages:
        text = LABELS[key].get(language) or LABELS[key]["en"]
        if text not in said:
            said.append(text)
    return " / ".join(said)


def languages_of(setting: str) -> tuple[str, ...]:
    """``"ru+uz"`` -> ``("ru", "uz")``; unknown languages are dropped, none means ru+uz."""
    chosen = tuple(part for part in setting.split("+") if part in ("ru", "uz", "en"))
    return chosen or DEFAULT_LANGUAGES
