# The man pages stay true to the binaries: they render without groff
# warnings; every command `btrsendctl --help` lists has a section in
# btrsendctl.8 and every section is a command it lists; every option a
# command prints (in --help, its own help or its usage error) is in its
# section, and every option a section documents is one the command
# accepts; every option letter of btrsendd's usage is in btrsendd.8 and
# back.
. "$(dirname "$0")/../lib/common.sh"

[ -x "$CTL" ] && [ -x "$BTRSENDD" ] || fail "binaries not built (make integration)"
command -v man >/dev/null || skip "man not installed (make deps)"
tmp=$(mktemp -d /tmp/btrsend-man.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Renders, with no warning; the NAME line carries the page's name.
for page in daemon/btrsendd.8 daemon/ctl/btrsendctl.8 conf/btrsend.conf.5; do
	MANWIDTH=80 man --warnings=w -l "$TOP/$page" > "$tmp/out" 2> "$tmp/err" ||
		fail "$page: man -l failed"
	[ -s "$tmp/err" ] && { cat "$tmp/err" >&2; fail "$page: groff warnings"; }
	name=$(basename "$page"); name=${name%.*}
	grep -q "^ *$name - " "$tmp/out" || fail "$page: no NAME line for $name"
done

# Option words (-x, --long) in text, one per line; "10-byte" is no option.
options_in() {
	grep -oE -- '(^|[][ ,|])--?[A-Za-z][A-Za-z-]*' | sed 's/^[][ ,|]//' | sort -u
}

# The roff source of a page's section: .SS NAME up to the next .SS/.SH,
# with \- unescaped.
man_section() {   # man_section FILE NAME
	awk -v n="$2" '/^\.S[HS]/ { on = ($0 == ".SS " n) ; next } on' "$1" |
		sed 's/\\-/-/g'
}

has_word() {   # has_word WORD < TEXT
	grep -qE -- "(^|[^A-Za-z-])$1([^A-Za-z-]|\$)"
}

man8=$TOP/daemon/ctl/btrsendctl.8
"$CTL" --help > "$tmp/help" || fail "btrsendctl --help failed"
awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next }
     on && /^$/ { on = 0 }' "$tmp/help" | sort > "$tmp/cmds"
[ -s "$tmp/cmds" ] || fail "no commands parsed from btrsendctl --help"
awk '/^\.SH/ { on = ($0 == ".SH COMMANDS"); next }
     on && /^\.SS / { print $2 }' "$man8" | sort > "$tmp/sections"
diff -u "$tmp/cmds" "$tmp/sections" >&2 ||
	fail "btrsendctl --help commands (-) and btrsendctl.8 sections (+) differ"

while read -r cmd; do
	man_section "$man8" "$cmd" > "$tmp/sec"
	# What the binary prints about cmd's options.
	{
		awk -v c="$cmd" '$1 == c { $1 = ""; print }' "$tmp/help"
		"$CTL" "$cmd" --help > "$tmp/h" 2>&1 < /dev/null && cat "$tmp/h"
		"$CTL" "$cmd" < /dev/null 2>&1 | grep 'usage:'
	} | options_in | grep -vx -- '--help' > "$tmp/printed"
	while read -r o; do
		has_word "$o" < "$tmp/sec" ||
			fail "btrsendctl $cmd prints option $o; btrsendctl.8 lacks it"
	done < "$tmp/printed"
	# Each option a tag (.TP) documents is accepted: getopt would
	# otherwise say "unrecognized" or "invalid option".
	awk '/^\.TP/ { getline; print }' "$tmp/sec" | options_in > "$tmp/documented"
	while read -r o; do
		timeout 10 "$CTL" "$cmd" "$o" < /dev/null > /dev/null 2> "$tmp/e"
		grep -qE 'unrecognized option|invalid option' "$tmp/e" &&
			fail "btrsendctl.8 documents '$cmd $o'; btrsendctl rejects it"
	done < "$tmp/documented"
	note "btrsendctl $cmd: $(wc -l < "$tmp/printed") printed, $(wc -l < "$tmp/documented") documented options agree"
done < "$tmp/cmds"

# btrsendd: the letters of its usage line and of the OPTIONS section.
"$BTRSENDD" -h > "$tmp/dhelp" || fail "btrsendd -h failed"
head -n 1 "$tmp/dhelp" | grep -q '^usage: btrsendd' || fail "no usage line"
head -n 1 "$tmp/dhelp" | grep -oE -- '\[-[a-zA-Z]+\]|\[-[a-zA-Z] ' |
	tr -d '[] -' | fold -w1 | sort -u > "$tmp/dletters"
[ -s "$tmp/dletters" ] || fail "no option letters parsed from btrsendd -h"
awk '/^\.SH/ { on = ($0 == ".SH OPTIONS"); next } on && /^\.TP/ { getline; print }' \
	"$TOP/daemon/btrsendd.8" | sed 's/\\-/-/g' | grep -oE -- '(^|[ ,])-[a-zA-Z]\b' |
	tr -d ' ,-' | sort -u > "$tmp/mletters"
diff -u "$tmp/dletters" "$tmp/mletters" >&2 ||
	fail "btrsendd usage letters (-) and btrsendd.8 OPTIONS (+) differ"
echo "man pages: true to the binaries"
