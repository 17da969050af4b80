"""The station kiosk: the touchscreen web app operators use (see station/kiosk/app.py)."""
