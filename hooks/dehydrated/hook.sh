#!/bin/sh
# dane-hook as dehydrated's HOOK. dehydrated calls one hook script for every event; only deploy_cert
# (a new certificate: DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP) concerns dane-hook.
# It is handed on as `dane-hook deploy ... -- deploy_cert DOMAIN KEYFILE ...`. With
# PRIVATE_KEY_ROLLOVER=yes dane-hook also publishes the record of the next key, privkey.roll.pem.
# unchanged_cert is handed on too (a rerun that converges after a failed deploy_cert), always exit 0.
# Every other event (deploy_challenge, startup_hook, generate_csr, exit_hook, events
# added in later versions...) exits 0 at once and prints nothing: dehydrated reads generate_csr's
# output as a CSR, and stops on a non-zero status.
#
# A non-zero status from deploy_cert stops dehydrated's run (the certificate is already saved).
#
# Install: in /etc/dehydrated/config (or a conf.d file)
#   HOOK=/usr/share/dane-hook/hooks/dehydrated/hook.sh
# To chain with another hook, call this script from it with the same arguments.
#
# Settings come from the config file: $DANE_HOOK_CONFIG, default /etc/dane-hook/config.json.
# $DANE_HOOK names the dane-hook program (default: dane-hook on PATH).
case "$1" in
  deploy_cert)
    exec "${DANE_HOOK:-dane-hook}" deploy --quiet --config "${DANE_HOOK_CONFIG:-/etc/dane-hook/config.json}" -- "$@"
    ;;
  unchanged_cert)
    # The same certificate again: a no-op for dane-hook unless an earlier deploy_cert failed, which
    # this catches up. Never stops dehydrated's run: problems are printed, the status is 0.
    "${DANE_HOOK:-dane-hook}" deploy --quiet --config "${DANE_HOOK_CONFIG:-/etc/dane-hook/config.json}" -- "$@" || true
    exit 0
    ;;
  *)
    exit 0
    ;;
esac
