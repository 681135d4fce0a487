#!/bin/sh
# Makes the sample PKI in examples/ that `npm run demo` uses: a root, an intermediate, and two
# generations of a mail server certificate (mx-1, then mx-2 with a new key, as certbot renews).
# Demo material only: these private keys are public.
set -eu
out=${1:-examples}
mkdir -p "$out"
cd "$out"
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -days $days \
  -subj "/CN=dane-hook Example Root" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout intermediate.key -out intermediate.csr -subj "/CN=dane-hook Example Intermediate" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n' > ca.ext
openssl x509 -req -in intermediate.csr -CA root.pem -CAkey root.key -CAcreateserial -out intermediate.pem -days $days -extfile ca.ext 2>/dev/null
for gen in 1 2; do
  d=mx-$gen
  mkdir -p $d
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $d/privkey.pem 2>/dev/null
  openssl req -new -key $d/privkey.pem -out $d/req.csr -subj "/CN=mx.example.com" 2>/dev/null
  printf 'subjectAltName=DNS:mx.example.com\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > leaf.ext
  openssl x509 -req -in $d/req.csr -CA intermediate.pem -CAkey intermediate.key -CAcreateserial -out $d/cert.pem -days $days -extfile leaf.ext 2>/dev/null
  cp intermediate.pem $d/chain.pem
  cat $d/cert.pem intermediate.pem > $d/fullchain.pem
  rm -f $d/req.csr
done
rm -f intermediate.csr ca.ext leaf.ext root.srl intermediate.srl root.key intermediate.key
chmod 600 mx-*/privkey.pem
