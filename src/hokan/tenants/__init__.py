"""Tenants: customer companies and their settings (TEN-1, TEN-2, IAM-4)."""
