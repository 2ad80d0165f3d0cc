"""Reference data: the clinic, its departments, rooms, doctors, services and patients."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.base import Base, UTCDateTime, utcnow


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class ClinicProfile(Timestamps, Base):
    """The one clinic this installation serves (a single row, id 1)."""

    __tablename__ = "clinic_profile"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    legal_name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    taxpayer_number: Mapped[str] = mapped_column(String(14), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(13), nullable=False, default="")


class Department(Timestamps, Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    # Unique: a ticket number such as "K-012" must name one department on the board.
    ticket_prefix: Mapped[str] = mapped_column(String(3), unique=True, nullable=False)
    name_ru: Mapped[str] = mapped_column(String(120), nullable=False)
    name_uz: Mapped[str] = mapped_column(String(120), nullable=False)
    name_en: Mapped[str] = mapped_column(String(120), nullable=False)
    # Lower-case Latin spelling of the code and names (see clinic.text.search_key).
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Room(Timestamps, Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    department: Mapped[Department | None] = relationship()


class Doctor(Timestamps, Base):
    __tablename__ = "doctors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(160), nullable=False)
    search_name: Mapped[str] = mapped_column(String(160), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), nullable=True)
    specialty: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    department: Mapped[Department] = relationship()
    room: Mapped[Room | None] = relationship()


class Service(Timestamps, Base):
    """An entry of the price list. Prices are integer tiyin (1 UZS = 100 tiyin)."""

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("vat_percent >= 0 AND vat_percent <= 100", name="vat_range"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("units >= 1 AND units <= 999999999", name="units_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name_ru: Mapped[str] = mapped_column(String(200), nullable=False)
    name_uz: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=15)
    ikpu_code: Mapped[str] = mapped_column(String(17), nullable=False, default="")
    package_code: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    # The unit of measure's code on a fiscal receipt (Payme's ``units``, such as 241092):
    # optional, none until the administrator sets it.
    units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vat_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    department: Mapped[Department | None] = relationship()


class Patient(Timestamps, Base):
    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
        UniqueConstraint("document_number", name="uq_patients_document_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(160), nullable=False)
    # Lower-case Latin spelling of the name: Cyrillic and Latin searches meet here.
    search_name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str] = mapped_column(String(1), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(13), nullable=True, index=True)
    # Where the e-mail receipt goes, when the patient gave an address.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    document_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
