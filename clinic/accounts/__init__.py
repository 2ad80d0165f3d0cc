"""Accounts: users, roles and permissions, passwords, API tokens and the audit log."""
