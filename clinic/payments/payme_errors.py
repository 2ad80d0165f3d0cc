"""The Payme Merchant API's error codes, with their messages in ru, uz and en, as the
protocol answers them (HTTP 200, JSON-RPC ``error``)."""

from __future__ import annotations

# Codes and their messages in the clinic's three languages.
ERRORS = {
    -31001: ("Неверная сумма", "Noto'g'ri summa", "Wrong amount"),
    -31003: ("Транзакция не найдена", "Tranzaksiya topilmadi", "Transaction not found"),
    -31007: (
        "Услуга уже оказана, отмена невозможна",
        "Xizmat ko'rsatilgan, bekor qilib bo'lmaydi",
        "The service was already rendered; the transaction cannot be cancelled",
    ),
    -31008: (
        "Невозможно выполнить операцию",
        "Amalni bajarib bo'lmaydi",
        "The operation cannot be performed",
    ),
    -31050: ("Счёт не найден", "Hisob topilmadi", "Invoice not found"),
    -31051: (
        "Счёт уже оплачен или отменён",
        "Hisob allaqachon to'langan yoki bekor qilingan",
        "The invoice is already paid or cancelled",
    ),
    # SetFiscalData's own codes, as Payme's page for that method documents them.
    -32001: (
        "Чек с таким id не найден",
        "Bunday id bilan chek topilmadi",
        "No receipt with this id",
    ),
    -32602: ("Неверные параметры", "Noto'g'ri parametrlar", "Invalid parameters"),
    -32300: ("Метод запроса должен быть POST", "So'rov usuli POST bo'lishi kerak", "Use POST"),
    -32400: ("Внутренняя ошибка", "Ichki xatolik", "Internal error"),
    -32504: (
        "Недостаточно привилегий",
        "Ruxsat yetarli emas",
        "Insufficient privileges to perform the method",
    ),
    -32600: (
        "Неверный запрос: поля отсутствуют или неверного типа",
        "Noto'g'ri so'rov: maydonlar yo'q yoki turi noto'g'ri",
        "Invalid request: fields missing or of the wrong type",
    ),
    -32601: ("Метод не найден", "Usul topilmadi", "Method not found"),
    -32700: ("Ошибка разбора JSON", "JSON tahlilida xatolik", "JSON parse error"),
}

WRONG_AMOUNT = -31001
NOT_FOUND = -31003
SERVICE_RENDERED = -31007
CANNOT_PERFORM = -31008
INVOICE_NOT_FOUND = -31050
INVOICE_NOT_PAYABLE = -31051
RECEIPT_NOT_FOUND = -32001
INVALID_PARAMS = -32602
NOT_POST = -32300
INTERNAL = -32400
UNAUTHORIZED = -32504
INVALID_REQUEST = -32600
NO_SUCH_METHOD = -32601
PARSE_ERROR = -32700


class PaymeError(Exception):
    """A JSON-RPC error answer: its code, and ``data`` (a field or method name, or None).
    ``discard``: nothing the call wrote may stay (roll back before answering); otherwise
    what it changed on the way (an expired transaction cancelled) is committed."""

    def __init__(self, code: int, data: str | None = None, *, discard: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.data = data
        self.discard = discard

    def as_error(self) -> dict:
        ru, uz, en = ERRORS[self.code]
        return {"code": self.code, "message": {"ru": ru, "uz": uz, "en": en}, "data": self.data}
