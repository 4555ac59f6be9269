"""Browser tests (a package, so the server and browser fixtures end with the last browser test)."""
