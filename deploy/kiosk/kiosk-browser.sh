#!/usr/bin/env bash
# Show the station kiosk full screen on the Pi's touchscreen (Chromium in kiosk mode).
# Started by the rekam-kiosk-browser systemd user unit in the desktop session.
# Waits (bounded) for the station's kiosk on 127.0.0.1, then replaces itself with Chromium:
# incognito, so nothing a screen showed is kept in a browser profile on disk.
set -euo pipefail

URL=${REKAM_KIOSK_URL:-http://127.0.0.1:8780/}
WAIT_S=${REKAM_KIOSK_WAIT_S:-120}

browser=""
for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then
        browser=$candidate
        break
    fi
done
if [ -z "$browser" ]; then
    echo "kiosk-browser: neither chromium nor chromium-browser is installed" >&2
    exit 1
fi

deadline=$((SECONDS + WAIT_S))
until curl --silent --output /dev/null --max-time 2 "${URL}login"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "kiosk-browser: the station kiosk did not answer at $URL within ${WAIT_S} s" >&2
        exit 1
    fi
    sleep 1
done

exec "$browser" --kiosk --incognito --noerrdialogs --disable-translate --no-first-run \
    --disable-features=Translate,TranslateUI --disable-pinch --overscroll-history-navigation=0 \
    --touch-events=enabled --check-for-update-interval=31536000 "$URL"
