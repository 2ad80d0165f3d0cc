"""The reports' own words in Russian, Uzbek (Latin) and English.

Report files are written by workers, outside any web request, so their headings live here
with the report definitions rather than in the web catalogues.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str, str]] = {
    # Titles (ru, uz, en).
    "title.revenue": ("Выручка", "Tushum", "Revenue"),
    "title.visits": ("Визиты", "Tashriflar", "Visits"),
    "title.queue": ("Очередь: показатели", "Navbat ko'rsatkichlari", "Queue KPIs"),
    "title.shifts": (
        "Смены кассиров (Z-отчёт)",
        "Kassir smenalari (Z-hisobot)",
        "Cashier shifts (Z report)",
    ),
    "title.reconciliation": (
        "Сверка с провайдерами",
        "Provayderlar bilan solishtirish",
        "Reconciliation with providers",
    ),
    # Groupings: the first column's heading.
    "by.day": ("День", "Kun", "Day"),
    "by.department": ("Отделение", "Bo'lim", "Department"),
    "by.doctor": ("Врач", "Shifokor", "Doctor"),
    "by.service": ("Услуга", "Xizmat", "Service"),
    "by.method": ("Способ оплаты", "To'lov usuli", "Payment method"),
    "by.provider": ("Провайдер", "Provayder", "Provider"),
    "by.cashier": ("Кассир", "Kassir", "Cashier"),
    "by.status": ("Статус", "Holat", "Status"),
    "by.queue": ("Очередь", "Navbat", "Queue"),
    "by.room": ("Кабинет", "Xona", "Room"),
    "by.hour": ("Час", "Soat", "Hour"),
    "by.shift": ("Смена", "Smena", "Shift"),
    "by.kind": ("Расхождение", "Nomuvofiqlik", "Disagreement"),
    # Groupings as a report's name says them (the e-mail's subject: "Выручка, по врачам").
    "grouping.day": ("по дням", "kunlar bo'yicha", "by day"),
    "grouping.department": ("по отделениям", "bo'limlar bo'yicha", "by department"),
    "grouping.doctor": ("по врачам", "shifokorlar bo'yicha", "by doctor"),
    "grouping.service": ("по услугам", "xizmatlar bo'yicha", "by service"),
    "grouping.method": ("по способам оплаты", "to'lov usullari bo'yicha", "by payment method"),
    "grouping.provider": ("по провайдерам", "provayderlar bo'yicha", "by provider"),
    "grouping.cashier": ("по кассирам", "kassirlar bo'yicha", "by cashier"),
    "grouping.status": ("по статусам", "holatlar bo'yicha", "by status"),
    "grouping.queue": ("по очередям", "navbatlar bo'yicha", "by queue"),
    "grouping.room": ("по кабинетам", "xonalar bo'yicha", "by room"),
    "grouping.hour": ("по часам", "soatlar bo'yicha", "by hour"),
    # Figures.
    "payments": ("Платежей", "To'lovlar", "Payments"),
    "received": ("Получено", "Qabul qilindi", "Received"),
    "refunded": ("Возвращено", "Qaytarildi", "Refunded"),
    "net": ("Итого нетто", "Sof tushum", "Net"),
    "quantity": ("Количество", "Soni", "Quantity"),
    "billed": ("Начислено", "Hisoblandi", "Billed"),
    "visits": ("Визитов", "Tashriflar", "Visits"),
    "completed": ("Завершено", "Yakunlandi", "Completed"),
    "no_shows": ("Неявки", "Kelmaganlar", "No-shows"),
    "cancelled": ("Отменено", "Bekor qilindi", "Cancelled"),
    "late_cancellations": ("Поздние отмены", "Kech bekor qilishlar", "Late cancellations"),
    "new_patients": ("Новые пациенты", "Yangi bemorlar", "New patients"),
    "follow_ups": ("Повторные", "Takroriy", "Follow-up"),
    "no_show_rate": ("Доля неявок, %", "Kelmaganlar ulushi, %", "No-show rate, %"),
    "late_cancel_rate": (
        "Доля поздних отмен, %",
        "Kech bekor qilish ulushi, %",
        "Late cancellation rate, %",
    ),
    "tickets": ("Талонов", "Talonlar", "Tickets"),
    "served": ("Обслужено", "Xizmat ko'rsatildi", "Served"),
    "wait_p50": ("Ожидание p50, мин", "Kutish p50, daq", "Wait p50, min"),
    "wait_p90": ("Ожидание p90, мин", "Kutish p90, daq", "Wait p90, min"),
    "service_avg": ("Приём в среднем, мин", "O'rtacha qabul, daq", "Service mean, min"),
    "opened": ("Открыта", "Ochildi", "Opened"),
    "closed": ("Закрыта", "Yopildi", "Closed"),
    "opening_cash": ("Касса на начало", "Boshlang'ich naqd", "Opening cash"),
    "cash_taken": ("Наличные", "Naqd pul", "Cash taken"),
    "card_taken": ("Карта", "Karta", "Card taken"),
    "cash_refunded": ("Возврат наличными", "Naqd qaytarish", "Cash refunded"),
    "card_refunded": ("Возврат на карту", "Kartaga qaytarish", "Card refunded"),
    "expected_cash": ("Ожидается в кассе", "Kassada kutilgan", "Expected cash"),
    "counted_cash": ("Пересчитано", "Sanaldi", "Counted cash"),
    "discrepancy": ("Расхождение", "Farq", "Discrepancy"),
    "shift.open": ("ещё открыта", "hali ochiq", "still open"),
    "provider": ("Провайдер", "Provayder", "Provider"),
    "provider_ref": ("Транзакция провайдера", "Provayder tranzaksiyasi", "Provider reference"),
    "invoice_id": ("Счёт", "Hisob", "Invoice"),
    "provider_amount": ("Сумма у провайдера", "Provayderdagi summa", "Provider amount"),
    "our_amount": ("Сумма у нас", "Bizdagi summa", "Our amount"),
    "provider_state": ("Состояние у провайдера", "Provayderdagi holat", "Provider state"),
    "detail": ("Подробности", "Tafsilot", "Detail"),
    # Words in cells and around the table.
    "total": ("Итого", "Jami", "Total"),
    "period": ("Период", "Davr", "Period"),
    "none": ("не указано", "ko'rsatilmagan", "not given"),
    "desk": ("касса", "kassa", "desk"),
    "cash": ("наличные", "naqd", "cash"),
    "card": ("карта", "karta", "card"),
    # The providers as they write their names, as the receipts name them.
    "payme": ("Payme", "Payme", "Payme"),
    "click": ("Click", "Click", "Click"),
    # The reconciliation's disagreements (clinic/payments/reconcile.py), by their codes.
    "kind.paid_at_provider_not_here": (
        "оплачено у провайдера, платежа у нас нет",
        "provayderda to'langan, bizda to'lov yo'q",
        "paid at the provider, no payment here",
    ),
    "kind.amount_differs": ("суммы различаются", "summalar farq qiladi", "amounts differ"),
    "kind.refund_not_applied": (
        "возвращено провайдером, возврата у нас нет",
        "provayder qaytargan, bizda qaytarish yo'q",
        "refunded at the provider, no refund here",
    ),
    "kind.paid_here_not_at_provider": (
        "оплачено у нас, у провайдера не оплачено",
        "bizda to'langan, provayderda to'lanmagan",
        "paid here, not paid at the provider",
    ),
    "kind.webhook_rejected": (
        "уведомление отклонено",
        "bildirishnoma rad etilgan",
        "webhook rejected",
    ),
    "status.scheduled": ("запланирован", "rejalashtirilgan", "scheduled"),
    "status.arrived": ("пришёл", "keldi", "arrived"),
    "status.in_progress": ("на приёме", "qabulda", "in progress"),
    "status.completed": ("завершён", "yakunlangan", "completed"),
    "status.cancelled": ("отменён", "bekor qilingan", "cancelled"),
    "status.no_show": ("неявка", "kelmadi", "no-show"),
    "filter.department": ("Отделение", "Bo'lim", "Department"),
    "filter.doctor": ("Врач", "Shifokor", "Doctor"),
    "mail.subject": ("Отчёт", "Hisobot", "Report"),
    "mail.body": (
        "Во вложении отчёт «{title}» за период {period}.",
        "Ilovada «{title}» hisoboti, davr: {period}.",
        'Attached is the report "{title}" for {period}.',
    ),
    "mail.open_shifts": (
        "Смены, ещё открытые при отправке (их суммы неполные): {shifts}",
        "Yuborilganda hali ochiq smenalar (summalari to'liq emas): {shifts}",
        "Shifts still open when this was sent (their figures are not final): {shifts}",
    ),
    "mail.unsubscribe": (
        "Чтобы больше не получать этот отчёт, откройте ссылку: {link}",
        "Bu hisobotni boshqa olmaslik uchun havolani oching: {link}",
        "To stop receiving this report, open: {link}",
    ),
}

_INDEX = {"ru": 0, "uz": 1, "en": 2}


def label(key: str, language: str) -> str:
    """The word for ``key`` in ``language`` (Russian for an unknown language); the key
    itself when it has no translation (a provider's or a status's own code)."""
    words = LABELS.get(key)
    if words is None:
        return key
    return words[_INDEX.get(language, 0)]
