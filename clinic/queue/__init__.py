"""The electronic queue: queues and boards, tickets, calls, days and their snapshots."""
