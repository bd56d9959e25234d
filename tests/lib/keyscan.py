#!/usr/bin/python3
# keyscan.py KEY PID...: how often the private key KEY (PEM, EC or RSA)
# lies in each process's memory, read whole through /proc/PID/maps and
# /proc/PID/mem (as root).  Its secret, the EC private scalar or the RSA
# prime p, is looked for in both byte orders: big-endian as in its DER
# encoding, little-endian as a BIGNUM holds it on x86-64; and each line
# of the PEM file's base64 body.  One line per process:
#   PID secret=N pem=M
# and on stderr where each copy of the secret lies.
import re
import subprocess
import sys


def secret(key):
	text = subprocess.run(["openssl", "pkey", "-in", key, "-text",
	    "-noout"], check=True, capture_output=True, text=True).stdout
	m = re.search(r"^(?:priv|prime1):\s*\n((?:\s+[0-9a-f:]+\n)+)", text,
	    re.M)
	if m is None:
		sys.exit("keyscan: no private scalar or prime in " + key)
	b = bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(1))).lstrip(b"\0")
	if len(b) < 16:
		sys.exit("keyscan: secret too short to look for")
	return b


def pem_lines(key):
	with open(key) as f:
		return [l.strip().encode() for l in f
		    if l.strip() and not l.startswith("-----")]


def memory(pid):
	with open("/proc/%d/maps" % pid) as maps, \
	    open("/proc/%d/mem" % pid, "rb", 0) as mem:
		for line in maps:
			f = line.split()
			lo, hi = (int(x, 16) for x in f[0].split("-"))
			if "r" not in f[1] or (len(f) > 5 and
			    f[5] in ("[vvar]", "[vsyscall]")):
				continue
			try:
				mem.seek(lo)
				yield line.strip(), lo, mem.read(hi - lo)
			except OSError:
				continue


def main():
	key = sys.argv[1]
	s = secret(key)
	needles = [s, s[::-1]]
	pem = [l for l in pem_lines(key) if len(l) >= 16]
	for pid in map(int, sys.argv[2:]):
		nsec = npem = 0
		for where, lo, chunk in memory(pid):
			for n in needles:
				i = chunk.find(n)
				while i != -1:
					nsec += 1
					print("%d: secret (%s) at %#x in %s" % (pid,
					    "big-endian" if n is s else
					    "little-endian", lo + i, where),
					    file=sys.stderr)
					i = chunk.find(n, i + 1)
			npem += sum(chunk.count(l) for l in pem)
		print("%d secret=%d pem=%d" % (pid, nsec, npem))


main()
