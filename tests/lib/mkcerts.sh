#!/bin/bash
# mkcerts.sh DIR: throwaway certificates for tests and the demo (EC P-256,
# valid for a day).  Writes into DIR:
#   ca.crt ca.key              the CA every good certificate chains to
#   ca2.crt ca2.key            a second, unrelated CA
#   backup.test.{crt,key}      receiver (CN and DNS SAN backup.test)
#   laptop.test.{crt,key}      client, listed in the tests' receive blocks
#   desktop.test.{crt,key}     a second listed client
#   intruder.test.{crt,key}    good CA, name never listed
#   laptop-ca2.{crt,key}       name laptop.test, signed by the second CA
#   wrong.test.{crt,key}       a receiver certificate for the wrong name
#   san-only.{crt,key}         client whose name is only a DNS SAN
#                              (CN "unrelated"), SAN laptop.test
#   laptop-case.{crt,key}      CN and SAN Laptop.TEST: laptop.test but
#                              for case
#   two-names.{crt,key}        CN desktop.test, SANs desktop.test and
#                              laptop.test: two listed names at once
set -euo pipefail
dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {	# ca NAME CN
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 2 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$1.crt" 2>/dev/null
}

leaf() {	# leaf FILE CN SAN CA USAGE
	local f=$1 cn=$2 san=$3 ca=$4 usage=$5
	key "$f.key"
	openssl req -new -key "$f.key" -subj "/CN=$cn" -out "$f.csr" 2>/dev/null
	printf '%s\n' "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=$usage" \
		${san:+"subjectAltName=DNS:$san"} > "$f.ext"
	openssl x509 -req -in "$f.csr" -CA "$ca.crt" -CAkey "$ca.key" \
		-CAcreateserial -days 1 -extfile "$f.ext" -out "$f.crt" 2>/dev/null
	rm -f "$f.csr" "$f.ext"
}

ca ca "btrsend test CA"
ca ca2 "another CA"
leaf backup.test backup.test backup.test ca serverAuth,clientAuth
leaf laptop.test laptop.test laptop.test ca clientAuth,serverAuth
leaf desktop.test desktop.test desktop.test ca clientAuth,serverAuth
leaf intruder.test intruder.test intruder.test ca clientAuth,serverAuth
leaf laptop-ca2 laptop.test laptop.test ca2 clientAuth,serverAuth
leaf wrong.test wrong.test wrong.test ca serverAuth,clientAuth
leaf san-only unrelated laptop.test ca clientAuth,serverAuth
leaf laptop-case Laptop.TEST Laptop.TEST ca clientAuth,serverAuth
leaf two-names desktop.test "desktop.test,DNS:laptop.test" ca clientAuth,serverAuth
rm -f ./*.srl
chmod 600 ./*.key
