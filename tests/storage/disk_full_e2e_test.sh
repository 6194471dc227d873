#!/usr/bin/env bash
# The real embedded binary on a small tmpfs, filled by signed webhooks: once
# the disk reaches the reserve, webhooks get 503 + Retry-After and /readyz
# answers 503 naming the disk, the process does not crash, a restart on the
# full disk starts, and freeing space makes it ready and accept webhooks
# again, with every acknowledged (2xx) record still there.
# Skips (exit 0, with a message) when the sandbox does not allow mounting.
set -euo pipefail

healthwire="$PWD/server/healthwire"
hwctl="$PWD/tools/hwctl/hwctl"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/disk_full_e2e.XXXXXX")"
disk="$work/disk"
mkdir -p "$disk"
if ! mount -t tmpfs -o size=32m tmpfs "$disk" 2>"$work/mount.err"; then
  echo "SKIPPED: cannot mount a tmpfs here ($(cat "$work/mount.err")); //tests/storage:disk_full_test covers the store's behaviour"
  exit 0
fi
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; umount -l "$disk" 2>/dev/null; true; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/server.log" ] && { echo "--- server.log" >&2; tail -30 "$work/server.log" >&2; }; exit 1; }

secret="disk-full-e2e-secret"
start_server() {
  rm -f "$work/ready"
  "$healthwire" --data_dir="$disk/data" --signing_secret="$secret" --min_free_disk_mb=4 \
    --http_port=0 --grpc_port=0 --ready_file="$work/ready" >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do [ -f "$work/ready" ] && break; sleep 0.1; done
  [ -f "$work/ready" ] || fail "healthwire did not become ready"
  http_port=$(sed -n 's/^http_port=//p' "$work/ready")
  grpc_port=$(sed -n 's/^grpc_port=//p' "$work/ready")
}

# A signed sleep webhook of about 200 KB with summary id $1; prints
# "<status> <retry-after>".
post() {
  local id="$1" body ts sig
  body="$work/body.json"
  printf '{"type":"sleep","version":"2022-03-16","user":{"user_id":"disk-user","provider":"OURA"},"data":[{"metadata":{"summary_id":"%s","start_time":"2026-07-01T23:12:30.000000+02:00"},"pad":"%s"}]}' \
    "$id" "$(head -c 150000 /dev/urandom | base64 -w0)" >"$body"
  ts=$(date +%s)
  sig=$( (printf '%s.' "$ts"; cat "$body") | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
  curl -s -o /dev/null -D "$work/headers" -w '%{http_code}' --max-time 30 \
    -H "Content-Type: application/json" -H "terra-signature: t=$ts,v1=$sig" \
    --data-binary "@$body" "http://127.0.0.1:$http_port/webhooks/terra" || echo -n 000
  echo " $(tr -d '\r' <"$work/headers" | sed -n 's/^[Rr]etry-[Aa]fter: //p')"
}
readyz() { curl -s -w ' %{http_code}' --max-time 10 "http://127.0.0.1:$http_port/readyz"; }

head -c $((8 << 20)) /dev/zero >"$disk/ballast"  # freed later
start_server

acknowledged=()
status=""
for i in $(seq 1 400); do
  read -r status retry_after < <(post "r$i")
  case "$status" in
    2*) acknowledged+=("r$i") ;;
    503) break ;;
    *) fail "webhook r$i answered $status" ;;
  esac
done
[ "$status" = 503 ] || fail "the 32 MiB disk never filled (${#acknowledged[@]} webhooks stored)"
[ -n "$retry_after" ] || fail "503 without Retry-After"
echo "stored ${#acknowledged[@]} webhooks, then 503 with Retry-After: $retry_after"
kill -0 "$server_pid" || fail "healthwire died on the full disk"
ready=$(readyz)
case "$ready" in *" 503") ;; *) fail "/readyz on a full disk: $ready" ;; esac
echo "$ready" | grep -q "$disk/data" || fail "/readyz does not name the disk: $ready"
echo "readyz: $ready"

# Restart on the full disk: starts, still refuses.
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
grep -q "Assertion\|Aborted" "$work/server.log" && fail "healthwire aborted"
start_server
read -r status retry_after < <(post "after-restart")
[ "$status" = 503 ] || fail "after a restart on the full disk a webhook answered $status"

# Free space: ready again by itself, webhooks accepted.
rm -f "$disk/ballast"
ok=""
for _ in $(seq 1 100); do case "$(readyz)" in *" 200") ok=1; break ;; esac; sleep 0.1; done
[ -n "$ok" ] || fail "/readyz did not recover after freeing space: $(readyz)"
read -r status retry_after < <(post "resumed")
case "$status" in 2*) acknowledged+=("resumed") ;; *) fail "after freeing space a webhook answered $status" ;; esac

# Every acknowledged record is there.
listed=$("$hwctl" list --store="127.0.0.1:$grpc_port" --user=disk-user --type=sleep --limit=1000 --json 2>&1) ||
  fail "hwctl list failed: $listed"
missing=0
for id in "${acknowledged[@]}"; do echo "$listed" | grep -q -- "$id\b" || { echo "missing $id" >&2; missing=$((missing + 1)); }; done
[ "$missing" = 0 ] || fail "$missing acknowledged records missing"
echo "all ${#acknowledged[@]} acknowledged records present"
