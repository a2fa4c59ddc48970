"""Services: the only code that writes to the core tables, one transaction per call."""
