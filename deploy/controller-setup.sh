#!/usr/bin/env bash
# Set up a Debian (12, bookworm) host as the rekam controller, with its Mosquitto broker.
# Idempotent: run it again after an update; it keeps the config, keys, store and CA.
set -euo pipefail

PREFIX=/opt/rekam
VENV=$PREFIX/venv
ETC=/etc/rekam
DATA=/var/lib/rekam
CONFIG=$ETC/controller.toml
SERVICE_USER=rekam
MOSQUITTO_CERTS=/etc/mosquitto/certs/rekam
DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=$(dirname "$DEPLOY_DIR")
CONTROLLER_ID=controller-1
BROKER_HOSTS=()
REISSUE=()
ENABLE=1
WEB_HOST=127.0.0.1
WEB_PORT=8080
WEB_CERT=
WEB_KEY=

usage() {
    cat <<EOF
Usage: sudo $0 --broker-host HOST [--broker-host HOST ...] [--controller-id ID]
                 [--source PATH|REQUIREMENT] [--reissue] [--no-enable]
                 [--web-host HOST --web-cert FILE --web-key FILE] [--web-port PORT]

Sets up this Debian host as the rekam controller:
  * apt packages: mosquitto, python3-venv, ...
  * a '$SERVICE_USER' system user; $ETC (config) and $DATA (store, keys, fleet CA; 0700)
  * a virtualenv at $VENV with rekam installed
  * the controller's keys and store (rekam controller init), the fleet CA and the
    controller's and broker's certificates (rekam controller ca init)
  * Mosquitto with deploy/mosquitto/rekam.conf (TLS on 8883, client certificates,
    per-station ACL) and the broker certificate
  * the rekam-controller systemd unit, enabled and started; it serves the fleet
    dashboard itself (no reverse proxy): on 127.0.0.1:$WEB_PORT by default, or
    on --web-host over TLS with the certificate you give
  * rekam-crl.path: a rewritten revocation list is installed for Mosquitto and
    the broker reloaded

Options:
  --broker-host HOST  name or address stations use to reach this broker (repeatable;
                      the first is the default in provisioning bundles)
  --controller-id ID  this controller's id (default $CONTROLLER_ID); its certificate's
                      CN and ACL user is controller.ID
  --source SPEC       what pip installs (default: the rekam tree this script is in,
                      $SOURCE); a path, a wheel, or a requirement
  --reissue           issue new controller and broker certificates (keeps the CA)
  --no-enable         install the unit but do not enable or start it
  --web-host HOST     address the dashboard listens on (default $WEB_HOST); any other
                      than loopback needs --web-cert and --web-key (HTTPS)
  --web-port PORT     dashboard port (default $WEB_PORT; above 1023: the unit has no
                      capability to bind lower ports)
  --web-cert FILE     the dashboard's TLS certificate chain (PEM), e.g. from your CA
  --web-key FILE      its private key (PEM); installed 0600 for $SERVICE_USER
  -h, --help          show this help

Provision a station afterwards (as $SERVICE_USER, who owns the CA):
  sudo -u $SERVICE_USER rekam controller provision ST-ID --csr station.csr \\
      --signing-key station-signing.pub --config $CONFIG
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --broker-host) BROKER_HOSTS+=("--broker-host" "${2:?--broker-host needs a value}"); shift 2 ;;
        --controller-id) CONTROLLER_ID=${2:?--controller-id needs a value}; shift 2 ;;
        --source) SOURCE=${2:?--source needs a value}; shift 2 ;;
        --reissue) REISSUE=(--reissue); shift ;;
        --no-enable) ENABLE=0; shift ;;
        --web-host) WEB_HOST=${2:?--web-host needs a value}; shift 2 ;;
        --web-port) WEB_PORT=${2:?--web-port needs a value}; shift 2 ;;
        --web-cert) WEB_CERT=${2:?--web-cert needs a value}; shift 2 ;;
        --web-key) WEB_KEY=${2:?--web-key needs a value}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "run as root: sudo $0 $*" >&2
    exit 1
fi
if [ ${#BROKER_HOSTS[@]} -eq 0 ]; then
    echo "give at least one --broker-host: the name or address stations use for this broker" >&2
    exit 2
fi
if ! printf '%s' "$CONTROLLER_ID" | grep -Eq '^[a-z0-9_-]+$'; then
    echo "controller id '$CONTROLLER_ID' must be lower-case letters, digits, '-' or '_'" >&2
    exit 2
fi

if { [ -n "$WEB_CERT" ] || [ -n "$WEB_KEY" ]; } && { [ -z "$WEB_CERT" ] || [ -z "$WEB_KEY" ]; }; then
    echo "--web-cert and --web-key go together" >&2
    exit 2
fi
case "$WEB_HOST" in
    127.*|localhost|::1) ;;
    *) if [ -z "$WEB_CERT" ]; then
           echo "the dashboard serves $WEB_HOST only over HTTPS: give --web-cert and --web-key" >&2
           exit 2
       fi ;;
esac

step() { printf '== %s\n' "$*"; }
as_service() { runuser -u "$SERVICE_USER" -- "$@"; }

step "apt packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip mosquitto mosquitto-clients ca-certificates

step "user $SERVICE_USER"
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
install -d -m 0755 -o root -g root "$ETC"
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA" "$DATA/keys" "$DATA/tls"

step "virtualenv $VENV"
install -d -m 0755 "$PREFIX"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q --upgrade "$SOURCE"
ln -sf "$VENV/bin/rekam" /usr/local/bin/rekam

step "config $CONFIG"
if [ ! -f "$CONFIG" ]; then
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# rekam controller configuration (written by controller-setup.sh).
# Every setting and its default: see the config 'rekam controller init' writes.

[controller]
id = "$CONTROLLER_ID"

[store]
path = "$DATA/controller.db"

[keys]
# The private key never leaves this machine (mode 0600).
private_key = "$DATA/keys/controller.key"
public_key = "$DATA/keys/controller.pub"

[mqtt]
# The broker on this host: the controllers' listener (loopback), over TLS with the
# controller's certificate from the fleet CA; stations live under the mount point "st/".
host = "localhost"
port = 8884
stations_mount_point = "st/"
tls = true
ca_file = "$DATA/tls/ca.crt"
cert_file = "$DATA/tls/controller.crt"
key_file = "$DATA/tls/controller.key"
share_group = "controllers"

[web]
# The fleet dashboard, served by this controller (no reverse proxy). Accounts:
#   sudo -u $SERVICE_USER rekam controller user add NAME --role admin --config $CONFIG
enabled = true
host = "$WEB_HOST"
port = $WEB_PORT
secret_file = "$DATA/keys/web-session.key"
EOF
    if [ -n "$WEB_CERT" ]; then
        printf 'tls_cert = "%s"\ntls_key = "%s"\n' "$DATA/tls/web.crt" "$DATA/tls/web.key" >>"$tmp"
    fi
    install -m 0640 -o root -g "$SERVICE_USER" "$tmp" "$CONFIG"
    rm -f "$tmp"
    echo "wrote $CONFIG"
else
    echo "keeping $CONFIG"
fi

if [ -n "$WEB_CERT" ]; then
    step "dashboard certificate"
    install -m 0644 -o "$SERVICE_USER" -g "$SERVICE_USER" "$WEB_CERT" "$DATA/tls/web.crt"
    install -m 0600 -o "$SERVICE_USER" -g "$SERVICE_USER" "$WEB_KEY" "$DATA/tls/web.key"
fi

step "controller keys, store and fleet CA"
cd "$DATA"
if [ ! -f "$DATA/keys/controller.key" ]; then
    as_service "$VENV/bin/rekam" controller init --config "$CONFIG"
fi
as_service "$VENV/bin/rekam" controller ca init --config "$CONFIG" "${BROKER_HOSTS[@]}" "${REISSUE[@]}"

step "mosquitto"
install -d -m 0750 -o root -g mosquitto "$MOSQUITTO_CERTS"
install -m 0644 -o root -g mosquitto "$DATA/tls/ca.crt" "$MOSQUITTO_CERTS/ca.crt"
# the controllers' listener trusts only this one: no station certificate gets in there
install -m 0644 -o root -g mosquitto "$DATA/tls/controllers-ca.crt" "$MOSQUITTO_CERTS/controllers-ca.crt"
install -m 0644 -o root -g mosquitto "$DATA/tls/broker.crt" "$MOSQUITTO_CERTS/broker.crt"
install -m 0640 -o root -g mosquitto "$DATA/tls/broker.key" "$MOSQUITTO_CERTS/broker.key"
# The revocation list; rekam-crl.path installs it again and reloads mosquitto whenever it changes.
install -m 0644 -o root -g mosquitto "$DATA/tls/crl.pem" "$MOSQUITTO_CERTS/crl.pem"
install -m 0644 "$DEPLOY_DIR/mosquitto/rekam.conf" /etc/mosquitto/conf.d/rekam.conf
acl=$(mktemp)
sed -e "s/^user controller\.controller-1\$/user controller.$CONTROLLER_ID/" \
    -e "s|controllers/controller-1/status\$|controllers/$CONTROLLER_ID/status|" "$DEPLOY_DIR/mosquitto/acl" >"$acl"
install -m 0640 -o root -g mosquitto "$acl" /etc/mosquitto/rekam.acl
rm -f "$acl"
systemctl enable mosquitto.service
systemctl restart mosquitto.service

step "systemd unit"
install -m 0644 "$DEPLOY_DIR/systemd/rekam-controller.service" /etc/systemd/system/rekam-controller.service
# a rewritten revocation list (a revoked station, a CRL re-signed before it expires) reaches Mosquitto
install -m 0644 "$DEPLOY_DIR/systemd/rekam-crl.path" /etc/systemd/system/rekam-crl.path
install -m 0644 "$DEPLOY_DIR/systemd/rekam-crl.service" /etc/systemd/system/rekam-crl.service
systemctl daemon-reload
systemctl enable --now rekam-crl.path
if [ "$ENABLE" -eq 1 ]; then
    systemctl enable rekam-controller.service
    systemctl restart rekam-controller.service
fi

step "done"
echo "stations connect to: ${BROKER_HOSTS[1]}:8883"
echo "provision a station: sudo -u $SERVICE_USER rekam controller provision ST-ID --config $CONFIG --csr FILE --signing-key FILE"
if [ -n "$WEB_CERT" ]; then scheme=https; else scheme=http; fi
echo "fleet dashboard: $scheme://$WEB_HOST:$WEB_PORT (add a user: sudo -u $SERVICE_USER rekam controller user add NAME --role admin --config $CONFIG)"
