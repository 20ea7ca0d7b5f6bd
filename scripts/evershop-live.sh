#!/usr/bin/env bash
# Start a REAL EverShop 2.2.1 with ordersync's bridge extension, for the contract tests (CI and local).
#
#   eval "$(scripts/evershop-live.sh | tail -1 | sed 's/^/export /')"
#   pytest -m evershop_live tests/connectors/evershop
#
# Idempotent: when the shop already runs with this exact extension, URL and secret, it only prints the
# settings. Otherwise it (re)starts the shop through ../shared/tools/evershop-up.sh (the install and
# build are cached in ~/.cache/evershop-2.2.1; a rebuild with the extension takes 1-2 minutes).
#
# The bridge POSTs every order/shipment event to SYNC_WEBHOOK_URL (evershop-up.sh puts it in the shop's
# .env), signed with a shared secret. evershop-up.sh has no knob for the secret, so this script writes it
# into the shop's config/local.json as `ordersync_bridge.webhookSecret` (node-config reads local.json
# after default.json, which evershop-up.sh rewrites on every run; local.json is left alone). That works
# on the very first run too, with a single build. A SYNC_WEBHOOK_SECRET environment variable would win
# over the config, so a stale one is removed from the shop's .env.
#
# Knobs (environment):
#   EVERSHOP_UP              path of evershop-up.sh (default: ../shared/tools/evershop-up.sh beside the repo)
#   EVERSHOP_HOME            the shop's folder (default ~/.cache/evershop-2.2.1, as evershop-up.sh)
#   EVERSHOP_PORT            the shop's port (default 3000)
#   EVERSHOP_WEBHOOK_PORT    where the tests' receiver listens on 127.0.0.1 (default 8799)
#   EVERSHOP_WEBHOOK_PATH    receiver path (default /evershop/webhooks)
#   EVERSHOP_WEBHOOK_SECRET  shared HMAC secret (default: the one already in the shop's .env, else a new one)
#   FORCE=1                  restart even when everything matches
# Prints last: EVERSHOP_URL=... EVERSHOP_ADMIN_EMAIL=... EVERSHOP_ADMIN_PASSWORD=...
#              EVERSHOP_WEBHOOK_PORT=... EVERSHOP_WEBHOOK_SECRET=...
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXT="$REPO/connectors/evershop/extension/ordersync-bridge"
UP="${EVERSHOP_UP:-}"
if [ -z "$UP" ]; then
  for candidate in "$REPO/../shared/tools/evershop-up.sh"; do  # ../shared beside the checkout, nowhere else
    [ -f "$candidate" ] && { UP="$candidate"; break; }
  done
fi
[ -n "$UP" ] && [ -f "$UP" ] || { echo "evershop-up.sh not found; set EVERSHOP_UP" >&2; exit 1; }

VERSION="${EVERSHOP_VERSION:-2.2.1}"
HOME_DIR="${EVERSHOP_HOME:-$HOME/.cache/evershop-$VERSION}"
PORT="${EVERSHOP_PORT:-3000}"
ADMIN_EMAIL="${EVERSHOP_ADMIN_EMAIL:-admin@example.com}"
ADMIN_PASSWORD="${EVERSHOP_ADMIN_PASSWORD:-Admin12345}"
HOOK_PORT="${EVERSHOP_WEBHOOK_PORT:-8799}"
HOOK_PATH="${EVERSHOP_WEBHOOK_PATH:-/evershop/webhooks}"
HOOK_URL="http://127.0.0.1:$HOOK_PORT$HOOK_PATH"
ENV_FILE="$HOME_DIR/.env"
export EVERSHOP_HOME="$HOME_DIR" EVERSHOP_PORT="$PORT" EVERSHOP_ADMIN_EMAIL="$ADMIN_EMAIL" \
       EVERSHOP_ADMIN_PASSWORD="$ADMIN_PASSWORD"

LOCAL_JSON="$HOME_DIR/config/local.json"
mkdir -p "$HOME_DIR/config"

env_value() { [ -f "$ENV_FILE" ] && sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$ENV_FILE" | tail -1 || true; }
config_secret() {
  [ -f "$LOCAL_JSON" ] && python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get("ordersync_bridge") or {}).get("webhookSecret", ""))' "$LOCAL_JSON" 2>/dev/null || true
}
write_config_secret() {
  python3 - "$LOCAL_JSON" "$1" <<'PY'
import json, os, sys
path, secret = sys.argv[1], sys.argv[2]
data = {}
if os.path.exists(path):
    with open(path) as handle:
        data = json.load(handle)
data.setdefault("ordersync_bridge", {})["webhookSecret"] = secret
with open(path, "w") as handle:
    json.dump(data, handle, indent=2)
    handle.write("\n")
os.chmod(path, 0o600)
PY
}

# 1. The shared secret: given, or the one the shop already has, or a new one.
SECRET="${EVERSHOP_WEBHOOK_SECRET:-$(config_secret)}"
[ -n "$SECRET" ] || SECRET="$(env_value SYNC_WEBHOOK_SECRET)"
[ -n "$SECRET" ] || SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# 2. Nothing to do when the running shop already has this extension, URL and secret.
running() {
  [ -f "$HOME_DIR/server.pid" ] && kill -0 "$(cat "$HOME_DIR/server.pid")" 2>/dev/null &&
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/graphql" -H 'Content-Type: application/json' \
      -d '{"query":"{ __typename }"}' | grep -q 200
}
up_to_date() {
  running &&
    diff -rq "$EXT" "$HOME_DIR/extensions/ordersync-bridge" >/dev/null 2>&1 &&
    grep -q '"ordersync-bridge"' "$HOME_DIR/config/default.json" 2>/dev/null &&
    [ "$(env_value SYNC_WEBHOOK_URL)" = "$HOOK_URL" ] &&
    [ -z "$(env_value SYNC_WEBHOOK_SECRET)" ] &&
    [ "$(config_secret)" = "$SECRET" ]
}
if [ "${FORCE:-0}" != 1 ] && up_to_date; then
  echo "EverShop already running with the ordersync bridge" >&2
else
  write_config_secret "$SECRET"
  [ -f "$ENV_FILE" ] && sed -i '/^SYNC_WEBHOOK_SECRET=/d' "$ENV_FILE"
  echo "starting EverShop with the ordersync bridge (first run: install + build, a few minutes;" \
       "later: rebuild, 1-2 minutes)..." >&2
  EVERSHOP_EXTENSION="$EXT" SYNC_WEBHOOK_URL="$HOOK_URL" bash "$UP" >&2
fi

echo "EVERSHOP_URL=http://127.0.0.1:$PORT EVERSHOP_ADMIN_EMAIL=$ADMIN_EMAIL EVERSHOP_ADMIN_PASSWORD=$ADMIN_PASSWORD" \
     "EVERSHOP_WEBHOOK_PORT=$HOOK_PORT EVERSHOP_WEBHOOK_SECRET=$SECRET"
