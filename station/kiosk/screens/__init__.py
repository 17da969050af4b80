"""One module per kiosk screen; each exposes ``routes`` for the app."""
