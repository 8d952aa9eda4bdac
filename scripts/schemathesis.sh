#!/usr/bin/env bash
# Schemathesis against a live server: every operation of /api/schema/, a bounded
# number of examples each, its default checks (response conformance included).
#
# Starts gunicorn on a free port with a fresh SQLite database in a temporary var
# dir, seeds the demo data, creates an API key allowed everything (a superuser's),
# points the path parameters at real seeded records, runs schemathesis, stops the
# server and exits non-zero on any failure. SCHEMATHESIS_KEEP=1 keeps the temp
# dir (server.log, seed.log) for a look afterwards.
#
#   scripts/schemathesis.sh                      # 20 examples per operation
#   SCHEMATHESIS_MAX_EXAMPLES=50 scripts/schemathesis.sh
#   SCHEMATHESIS_ARGS="--include-path-regex refunds" scripts/schemathesis.sh
#
# Exceptions the schema cannot express are in scripts/schemathesis.toml, each
# with its reason; nothing else is excluded.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-20}
SEED=${SCHEMATHESIS_SEED:-20261201}
PORT=${SCHEMATHESIS_PORT:-$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/oms-schemathesis.XXXXXX")
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${SCHEMATHESIS_KEEP:-0}" = 1 ]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# A fresh embedded setup: SQLite and the filesystem broker under $WORK, whatever
# the caller's environment points at.
unset DATABASE_URL CELERY_BROKER_URL OMS_REQUIRE_POSTGRES
export OMS_VAR_DIR=$WORK/var DJANGO_SETTINGS_MODULE=oms.settings
# The courier webhook's token, so its bodies are exercised past the 401.
export SHIPROCKET_WEBHOOK_TOKEN=schemathesis-courier-token
mkdir -p "$OMS_VAR_DIR"

STARTED=$SECONDS
echo "schemathesis: database and demo data in $OMS_VAR_DIR"
"$BIN/python" manage.py migrate --noinput -v 0
"$BIN/python" manage.py seed_demo >"$WORK/seed.log"
KEY=$("$BIN/python" manage.py create_api_key schemathesis --role ops | tail -n 1)

# The key acts for a superuser, so every operation is reachable; and real
# records for the path parameters, exported for scripts/schemathesis.toml.
eval "$("$BIN/python" manage.py shell -v 0 -c "
import shlex
from oms.models import ApiKey
from orders.models import Channel, Order, Shipment
from inventory.models import SKU, Location
from returns.models import Return
from refunds.models import Refund

user = ApiKey.objects.get(name='schemathesis').user
user.is_superuser = True
user.save(update_fields=['is_superuser'])
def first(qs, attr):
    row = qs.order_by('pk').first()
    return str(getattr(row, attr)) if row else '0'
values = {
    'OMS_ST_ORDER': first(Order.objects.all(), 'number'),
    'OMS_ST_RMA': first(Return.objects.all(), 'rma'),
    'OMS_ST_REFUND': first(Refund.objects.all(), 'pk'),
    'OMS_ST_SHIPMENT': first(Shipment.objects.all(), 'pk'),
    'OMS_ST_SKU': first(SKU.objects.all(), 'code'),
    'OMS_ST_LOCATION': first(Location.objects.all(), 'code'),
    'OMS_ST_CHANNEL': first(Channel.objects.all(), 'code'),
}
for name, value in values.items():
    print(f'export {name}={shlex.quote(value)}')
")"

echo "schemathesis: seeded in $((SECONDS - STARTED))s; server on 127.0.0.1:$PORT"
setsid "$BIN/gunicorn" oms.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 2 --timeout 60 \
  >"$WORK/server.log" 2>&1 </dev/null &
SERVER_PID=$!
for _ in $(seq 60); do
  if "$BIN/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/api/schema/', timeout=2)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$WORK/server.log"
    echo "ERROR: the server exited" >&2
    exit 1
  fi
  sleep 1
done

status=0
# shellcheck disable=SC2086
"$BIN/schemathesis" --config-file scripts/schemathesis.toml run "http://127.0.0.1:$PORT/api/schema/" \
  --header "Authorization: Bearer $KEY" \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --no-color \
  ${SCHEMATHESIS_ARGS:-} || status=$?

if [ "$status" != 0 ]; then
  echo "---- server errors logged (last 80 lines):"
  grep -n -A2 "Traceback\|Error:" "$WORK/server.log" | tail -n 80 || true
  echo "schemathesis FAILED (exit $status); reproduce with: SCHEMATHESIS_SEED=$SEED scripts/schemathesis.sh"
fi
exit "$status"
