"""Appointments: doctors' schedules, free slots, visits, rescheduling, reminders."""
