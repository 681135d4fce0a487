#!/bin/sh
# The main job on the shipped sample files, on this machine alone, with the emit backend: TLSA
# records for a certificate, then a whole staged rollover (renewal, publish, wait 2 x TTL, promote,
# withdraw). The emitted nsupdate scripts are what you would feed to `nsupdate -k KEY`.
set -eu
cd "$(dirname "$0")/.."
dh() { node dist/dane-hook.mjs "$@"; }
ex=examples
[ -f $ex/mx-2/cert.pem ] || sh scripts/make-examples.sh $ex
work=$(mktemp -d "${TMPDIR:-/tmp}/dane-hook-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
name=_25._tcp.mx.example.com
common="--tlsa-name $name --ttl 2 --dns emit --zone example.com --state-dir $work/state --activate-dir $work/active"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "TLSA records for $ex/mx-1/fullchain.pem (3 1 1 server key, 2 1 1 issuer), zone-file format"
dh tlsa --records "3 1 1" --records "2 1 1" --port 25 --host mx.example.com --format zone $ex/mx-1/fullchain.pem

step "The same as an nsupdate script"
dh tlsa --records "3 1 1" --records "2 1 1" --name $name --ttl 300 --format nsupdate $ex/mx-1/fullchain.pem

step "First deploy (certbot would run this as its deploy hook): publish, and go live at once"
dh deploy $common --lineage $ex/mx-1

step "Renewal with a new key: the new record is published beside the old; the old chain stays live"
dh deploy $common --lineage $ex/mx-2

step "Status while the new record waits out 2 x TTL"
dh status --state-dir $work/state --offline

step "advance --wait (a systemd timer runs 'dane-hook advance'): promote, then withdraw the stale record"
dh advance --state-dir $work/state --wait --max-wait 30

step "Now in service (from the activate dir $work/active):"
openssl x509 -in "$work/active/cert.pem" -noout -subject -enddate 2>/dev/null || ls -l "$work/active/"
dh tlsa --name $name --format rdata "$work/active/cert.pem"
