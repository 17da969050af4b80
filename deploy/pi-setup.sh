#!/usr/bin/env bash
# Set up a Raspberry Pi OS (bookworm, 64-bit) recording station for rekam.
# Idempotent: run it again after an update; it keeps existing config and keys.
set -euo pipefail

PREFIX=/opt/rekam
VENV=$PREFIX/venv
ETC=/etc/rekam
DATA=/var/lib/rekam
CONFIG=$ETC/station.toml
SERVICE_USER=rekam
DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=$(dirname "$DEPLOY_DIR")
STATION_ID=""
ENABLE=1
KIOSK=1

usage() {
    cat <<EOF
Usage: sudo $0 [--station-id ID] [--source PATH|REQUIREMENT] [--no-enable]

Sets up this Raspberry Pi as a rekam recording station:
  * apt packages: python3-venv, python3-picamera2, python3-lgpio, mosquitto-clients, ...
  * a '$SERVICE_USER' system user in the dialout, gpio and video groups
  * $ETC (config) and $DATA (outbox, keys, certificates; mode 0700)
  * a virtualenv at $VENV that sees the apt picamera2 (--system-site-packages),
    with rekam and its [pi] extra installed
  * udev rules for /dev/rekam-fingerprint and /dev/rekam-signature
  * the rekam-station systemd unit, enabled
  * the touchscreen kiosk: the station runs 'rekam station kiosk' (127.0.0.1:8780) and
    Chromium shows it full screen in the desktop session (unless --no-kiosk)

Options:
  --station-id ID   this station's id; a new config gets it, and the station's keys
                    are made (rekam station keygen) if there are none yet
  --source SPEC     what pip installs (default: the rekam tree this script is in,
                    $SOURCE); a path, a wheel, or a requirement such as 'rekam==0.1.0'
  --no-enable       install the unit but do not enable it
  --no-kiosk        no touchscreen kiosk (a headless station; enroll with 'rekam station enroll')
  -h, --help        show this help

Afterwards: carry the CSR and signing key it prints to the controller, run
'rekam controller provision' there, bring back the bundle, then:
  sudo rekam station install-bundle STATION.rekam-bundle.json --expect-ca-fingerprint SHA256
  sudo systemctl start rekam-station
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --station-id) STATION_ID=${2:?--station-id needs a value}; shift 2 ;;
        --source) SOURCE=${2:?--source needs a value}; shift 2 ;;
        --no-enable) ENABLE=0; shift ;;
        --no-kiosk) KIOSK=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "run as root: sudo $0 $*" >&2
    exit 1
fi
if [ -n "$STATION_ID" ] && ! printf '%s' "$STATION_ID" | grep -Eq '^[a-z0-9][a-z0-9_-]{0,62}$'; then
    echo "station id '$STATION_ID' must be 1-63 characters of a-z, 0-9, '-' or '_'" >&2
    exit 2
fi

step() { printf '== %s\n' "$*"; }

step "apt packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# picamera2 and libcamera come from Raspberry Pi OS, not pip; lgpio too (GPIO on Pi 5).
apt-get install -y -qq python3 python3-venv python3-pip python3-picamera2 python3-lgpio \
    python3-gpiozero mosquitto-clients ca-certificates

step "user $SERVICE_USER"
if ! getent group gpio >/dev/null; then
    groupadd --system gpio
fi
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
usermod -a -G dialout,gpio,video "$SERVICE_USER"

step "directories"
install -d -m 0755 -o root -g root "$ETC"
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA" "$DATA/keys" "$DATA/tls"

step "virtualenv $VENV"
install -d -m 0755 "$PREFIX"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv --system-site-packages "$VENV"
fi
# picamera2's compiled helpers are built against Debian's numpy 1.x; a numpy 2 in the
# venv would shadow it and break them.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo 'numpy<2' >"$constraints"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q --upgrade -c "$constraints" "${SOURCE}[pi]"
ln -sf "$VENV/bin/rekam" /usr/local/bin/rekam

step "config $CONFIG"
if [ ! -f "$CONFIG" ]; then
    tmp=$(mktemp)
    "$VENV/bin/python" -c 'import sys; from station.config import EXAMPLE; sys.stdout.write(EXAMPLE)' >"$tmp"
    if [ -n "$STATION_ID" ]; then
        sed -i "0,/^id = \".*\"/s//id = \"$STATION_ID\"/" "$tmp"
    fi
    install -m 0640 -o root -g "$SERVICE_USER" "$tmp" "$CONFIG"
    rm -f "$tmp"
    echo "wrote $CONFIG (review the [devices] section for this station's hardware)"
else
    echo "keeping $CONFIG"
fi

if [ -n "$STATION_ID" ]; then
    step "station keys"
    if [ -e "$DATA/keys/station-signing.key" ] || [ -e "$DATA/tls/station.key" ]; then
        echo "keeping the existing keys (replace them only with: rekam station keygen --force)"
    else
        # As root, the keys are given to the owner of $DATA ($SERVICE_USER).
        "$VENV/bin/rekam" station keygen --config "$CONFIG" --station-id "$STATION_ID"
    fi
fi

step "udev rules"
install -m 0644 "$DEPLOY_DIR/udev/99-rekam.rules" /etc/udev/rules.d/99-rekam.rules
udevadm control --reload-rules
udevadm trigger --subsystem-match=tty

step "systemd unit"
install -m 0644 "$DEPLOY_DIR/systemd/rekam-station.service" /etc/systemd/system/rekam-station.service
systemctl daemon-reload
if [ "$ENABLE" -eq 1 ]; then
    systemctl enable rekam-station.service
fi
# A running station picks up the new version now; a stopped one waits for its bundle.
systemctl try-restart rekam-station.service

step "kiosk"
if [ "$KIOSK" -eq 1 ]; then
    # Raspberry Pi OS names the browser chromium-browser, Debian chromium.
    apt-get install -y chromium-browser curl || apt-get install -y chromium curl
    install -m 0755 "$DEPLOY_DIR/kiosk/kiosk-browser.sh" /opt/rekam/kiosk-browser.sh
    install -d -m 0755 /etc/systemd/system/rekam-station.service.d
    install -m 0644 "$DEPLOY_DIR/kiosk/rekam-station.service.d/kiosk.conf" \
        /etc/systemd/system/rekam-station.service.d/kiosk.conf
    install -m 0644 "$DEPLOY_DIR/kiosk/rekam-kiosk-browser.service" /etc/systemd/user/rekam-kiosk-browser.service
    systemctl daemon-reload
    systemctl --global enable rekam-kiosk-browser.service
    # ...and from XDG autostart too, where the session never reaches graphical-session.target
    install -m 0644 "$DEPLOY_DIR/kiosk/rekam-kiosk.desktop" /etc/xdg/autostart/rekam-kiosk.desktop
    echo "kiosk: make the first supervisor with: sudo -u $SERVICE_USER /opt/rekam/venv/bin/rekam station operators add ID --role supervisor --config $CONFIG"
else
    rm -f /etc/systemd/system/rekam-station.service.d/kiosk.conf /etc/xdg/autostart/rekam-kiosk.desktop
    systemctl daemon-reload
fi

step "done"
if [ -f "$DATA/tls/station.crt" ]; then
    echo "this station is provisioned; start it with: sudo systemctl start rekam-station"
else
    echo "next: provision this station (see --help), then: sudo systemctl start rekam-station"
fi
