"""Reference data: the clinic profile, departments, rooms, doctors, the price list and its
import, and patients."""
