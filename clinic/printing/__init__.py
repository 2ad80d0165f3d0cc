"""Printing: network ESC/POS printers, print jobs with the exact bytes sent, and PDFs."""
