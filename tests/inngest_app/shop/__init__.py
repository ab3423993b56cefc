"""A small shop backend: orders, receipts and a daily report, as Inngest functions."""
