#!/bin/bash
# The include rules of docs/architecture.md ("Layers"), checked over the
# `#include "..."` lines of every .c and .h file below DIR (default: the
# source tree).  Prints each include that breaks a rule as
# FILE:LINE: LAYER includes FOLDER, and exits 1 if there was one.
#
# A file's layer is its folder; a layer may include its own folder and
# the folders listed for it here, nothing else of ours.  A private header
# (NAME_impl.h) is for its own folder only.
set -u
dir=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$dir" || exit 2

allowed() {
	case $1 in
	proto/base)    echo "proto/base" ;;
	proto/stream)  echo "proto/base proto/stream" ;;
	proto/msg)     echo "proto/base proto/msg" ;;
	conf)          echo "proto/base conf" ;;
	engine)        echo "proto/base proto/stream engine" ;;
	daemon/net)    echo "proto/base proto/stream proto/msg engine daemon/net" ;;
	daemon/worker) echo "proto/base proto/stream proto/msg engine daemon/net daemon/worker" ;;
	daemon/ctl)    echo "proto/base proto/stream proto/msg engine conf daemon/net daemon/ctl" ;;
	daemon)        echo "proto/base proto/stream proto/msg engine conf daemon/net daemon/worker daemon" ;;
	*)             return 1 ;;
	esac
}

bad=0
while IFS= read -r -d '' f; do
	layer=$(dirname "$f")
	if ! ok=$(allowed "$layer"); then
		echo "$f: in no layer (add its folder to tests/lib/layers.sh and docs/architecture.md)"
		bad=1
		continue
	fi
	while IFS=: read -r line inc; do
		inc=${inc#*\"}; inc=${inc%%\"*}
		folder=$(dirname "$inc")
		case $inc in
		*_impl.h)
			[ "$folder" = "$layer" ] && continue
			what="a private header of $folder" ;;
		*)
			case " $ok " in *" $folder "*) continue ;; esac
			what=$folder ;;
		esac
		echo "$f:$line: $layer includes $what ($inc)"
		bad=1
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done < <(find proto engine conf daemon -name '*.[ch]' -print0 | sort -z)
exit $bad
