#!/usr/bin/env bash
# test_man.sh - the manual pages: every function declared in the public
# headers (mos_api.h, mtcp_api.h, mtcp_util.h, cpu.h, moonbox.h) has its man3 page,
# found by parsing the headers (cross-checked with the compiler's own list of
# declarations); every page in man/ renders with groff and man without a
# single warning; man3 pages have the eight sections of the project's pages
# and their C examples compile against the headers; references to moonbox's
# own pages resolve; moonbox.1 has its sections and documents every option
# that `moonbox --help` prints; usage errors exit with the status it names.
. "$(dirname "$0")/lib.sh"

: "${MB_SRC:?MB_SRC must name the source directory}"
MAN="$MB_SRC/man"
INC="$MB_SRC/engine/include"
HEADERS="mos_api.h mtcp_api.h mtcp_util.h cpu.h moonbox.h"
CC=${CC:-cc}

for tool in groff man "$CC"; do
	command -v "$tool" >/dev/null || fail "$tool is needed to check the pages"
done

# Names of the functions a header declares: comments, preprocessor lines
# and typedefs removed, the text split into statements at ';', '{' and
# '}'; a statement that ends with "NAME(parameters)" declares NAME. Function
# pointer members ("(*fn)(...)") do not match, since ')' precedes their list.
header_functions() {
	"$PY" -c '
import re, sys
t = open(sys.argv[1]).read()
t = re.sub(r"\\\n", " ", t)
t = re.sub(r"/\*.*?\*/", " ", t, flags=re.S)
t = re.sub(r"//[^\n]*", " ", t)
t = re.sub(r"^[ \t]*#[^\n]*", " ", t, flags=re.M)
params = r"\((?:[^()]|\([^()]*\))*\)"
for st in re.split(r"[;{}]", t):
    st = " ".join(st.split())
    if st.startswith("typedef"):
        continue
    m = re.search(r"([A-Za-z_]\w*)\s*" + params + r"$", st)
    if m and not re.match(r"(if|while|for|switch|return|sizeof)$",
                          m.group(1)):
        print(m.group(1))
' "$1" || fail "cannot parse $1"
}

step "functions of the public headers"
: >"$TMP/funcs"
for h in $HEADERS; do
	[ -f "$INC/$h" ] || fail "no header $INC/$h"
	header_functions "$INC/$h" >>"$TMP/funcs"
done
sort -u "$TMP/funcs" -o "$TMP/funcs"
n=$(wc -l <"$TMP/funcs")
[ "$n" -ge 10 ] || fail "only $n functions found in the headers"

# The compiler lists every declaration it saw, with the file it is in:
# anything the parser above missed or invented shows up here.
for h in $HEADERS; do
	echo "#include <$h>"
done >"$TMP/all.c"
"$CC" -fsyntax-only -aux-info "$TMP/aux" -I"$INC" "$TMP/all.c" ||
	fail "the public headers do not compile"
grep -E "^/\* $INC/[a-z_]+\.h:" "$TMP/aux" >"$TMP/aux_decls" ||
	fail "the compiler saw no declaration in the headers"
# "/* FILE:LINE:NC */ extern TYPE NAME (PARAMS);": NAME is the word before
# the first '('.
sed -E -e 's|^/\*[^*]*\*/ *||' \
	-e 's/^([^(]*[ *])?([A-Za-z_][A-Za-z0-9_]*) \(.*/\2/' \
	"$TMP/aux_decls" | sort -u >"$TMP/aux_funcs"
diff "$TMP/aux_funcs" "$TMP/funcs" >"$TMP/funcs.diff" ||
	fail "header parsing disagrees with the compiler: $(cat "$TMP/funcs.diff")"

missing=""
while read -r f; do
	page="$MAN/man3/$f.3"
	if [ ! -f "$page" ]; then
		missing="$missing $f"
		continue
	fi
	# The page's NAME line names the function.
	name=$(sed -n '/^\.SH NAME/{n;p;}' "$page")
	[[ " $name" =~ [\ ,]$f[\ ,] ]] || fail "$page: NAME does not name $f"
done <"$TMP/funcs"
[ -z "$missing" ] || fail "functions without a man3 page:$missing"
echo "$n functions, $n pages"

step "every page renders without warnings"
pages=$(find "$MAN" -name '*.[1-9]' | sort)
[ -n "$pages" ] || fail "no pages under $MAN"
for p in $pages; do
	groff -man -ww -z "$p" 2>"$TMP/groff.err" ||
		fail "$p: groff failed: $(cat "$TMP/groff.err")"
	[ ! -s "$TMP/groff.err" ] ||
		fail "$p: groff warnings: $(head -5 "$TMP/groff.err")"
	MANWIDTH=80 man -l --warnings=w "$p" >"$TMP/man.out" 2>"$TMP/man.err" ||
		fail "$p: man -l failed: $(cat "$TMP/man.err")"
	[ ! -s "$TMP/man.err" ] ||
		fail "$p: man warnings: $(head -5 "$TMP/man.err")"
	[ -s "$TMP/man.out" ] || fail "$p: man -l printed nothing"
done

# has_sections PAGE SECTION...: the page has a .SH for each SECTION.
has_sections() {
	local page=$1 s

	shift
	for s in "$@"; do
		grep -qE "^\.SH +\"?$s\"? *$" "$page" ||
			fail "$page: no section $s"
	done
}

step "man3 pages have their eight sections"
for p in "$MAN"/man3/*.3; do
	has_sections "$p" NAME SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS \
		EXAMPLES COMPATIBILITY "SEE ALSO"
done

step "C examples of the man3 pages compile"
nex=0
for p in "$MAN"/man3/*.3; do
	# Pages of the C API (their synopsis includes a header).
	syn=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$p")
	case "$syn" in
	*'#include <'*) ;;
	*) continue ;;
	esac
	base=$(basename "$p" .3)
	mkdir -p "$TMP/ex/$base"
	example_blocks "$p" "$TMP/ex/$base/ex"
	set -- "$TMP/ex/$base"/ex[0-9][0-9]
	[ -f "$1" ] || fail "$p: no C example in EXAMPLES"
	for c in "$@"; do
		"$CC" -fsyntax-only -std=gnu11 -Wall -Wextra \
			-Wno-unused-parameter -Werror -I"$INC" -x c "$c" \
			2>"$TMP/cc.err" ||
			fail "$p: example $(basename "$c") does not compile:" \
				"$(head -5 "$TMP/cc.err")"
		nex=$((nex + 1))
	done
done
echo "$nex examples compiled"

step "references to moonbox's own pages resolve"
for p in $pages; do
	grep -oE '^\.BR +[A-Za-z_.]+ +\([135]\)' "$p" >"$TMP/refs" || true
	sed -E 's/^\.BR +([^ ]+) +\(([135])\)/\1 \2/' "$TMP/refs" >"$TMP/refs2"
	while read -r name sec; do
		# This project's pages.
		case "$name" in
		mtcp_*|mos|mos_*|moonbox_*|GetRSSCPUCore|GetNumCPUs|CoreAffinitize|\
		pkt_info|moonbox|mos.conf) ;;
		*) continue ;;
		esac
		[ -f "$MAN/man$sec/$name.$sec" ] ||
			fail "$p refers to $name($sec), which has no page"
	done <"$TMP/refs2"
done

step "mos.3: every field of the mos module; its Lua examples run"
M3="$MAN/man3/mos.3"
MOSLUA="$MB_SRC/bindings/lua/mos.lua"
DEMO="$MB_SRC/tests/data/demo.pcap"
for f in "$M3" "$MOSLUA" "$DEMO"; do
	[ -f "$f" ] || fail "no $f"
done
MANWIDTH=200 man -l "$M3" >"$TMP/mos3.txt" 2>/dev/null || fail "man -l $M3"
# The module's functions and top-level fields (M.name; _run and _attach
# are moonbox's own).
sed -n -e 's/^function M\.\([A-Za-z][A-Za-z0-9_]*\)(.*/\1/p' \
	-e 's/^M\.\([A-Za-z][A-Za-z0-9_]*\) = .*/\1/p' "$MOSLUA" >"$TMP/mos_fields"
nfield=$(wc -l <"$TMP/mos_fields")
[ "$nfield" -ge 30 ] || fail "only $nfield fields found in $MOSLUA"
while read -r f; do
	grep -qE "(^|[^A-Za-z0-9_.])mos\.$f([^A-Za-z0-9_]|$)" "$TMP/mos3.txt" ||
		fail "mos.3 does not document mos.$f"
done <"$TMP/mos_fields"
# EXAMPLES: a block whose first line is "-- NAME.lua: ..." is a script, run
# as its "--   moonbox ARGS" line says on the demo capture; a block right
# after a script is what that script prints.
mkdir -p "$TMP/lua"
example_blocks "$M3" "$TMP/lua/block"
set -- "$TMP/lua"/block[0-9][0-9]
[ -f "$1" ] || fail "$M3: no example"
nscript=0
prev=""
for b in "$@"; do
	name=$(sed -n '1s/^-- \([a-z_]*\.lua\): .*/\1/p' "$b")
	if [ -z "$name" ]; then
		[ -n "$prev" ] ||
			fail "$M3: an example is neither a script nor its output"
		cmp -s "$b" "$prev.out" ||
			fail "$M3: $(basename "$prev") prints '$(cat "$prev.out")'," \
				"the page says '$(cat "$b")'"
		prev=""
		continue
	fi
	cp "$b" "$TMP/lua/$name"
	cmdline=$(sed -n 's/^--   moonbox //p' "$b" | head -1)
	[ -n "$cmdline" ] || fail "$M3: $name has no '--   moonbox' line"
	args=()
	for a in $cmdline; do
		case $a in
		in.pcap) a=$DEMO ;;
		out.pcap) a=$TMP/lua/out.pcap ;;
		"$name") a=$TMP/lua/$name ;;
		esac
		args+=("$a")
	done
	rc=$(run_status "$TMP/lua/$name" "$MOONBOX" --no-progress \
		--stats "$TMP/lua/$name.json" "${args[@]}")
	[ "$rc" = 0 ] ||
		fail "$M3: $name exits with $rc: $(head -5 "$TMP/lua/$name.err")"
	[ "$(json_get "$TMP/lua/$name.json" script_errors)" = 0 ] ||
		fail "$M3: $name: script errors: $(head -5 "$TMP/lua/$name.err")"
	[ -s "$TMP/lua/$name.out" ] || fail "$M3: $name printed nothing"
	prev=$TMP/lua/$name
	nscript=$((nscript + 1))
done
[ "$nscript" -ge 2 ] || fail "$M3: only $nscript example scripts"
echo "$nfield fields documented, $nscript example scripts run"

step "moonbox.1: sections and every option of --help"
M1="$MAN/man1/moonbox.1"
[ -f "$M1" ] || fail "no $M1"
has_sections "$M1" NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES \
	"SEE ALSO"
"$MOONBOX" --help >"$TMP/help" 2>&1 || fail "moonbox --help failed"
# The OPTIONS section as plain text: roff minus signs and font changes
# removed, so "\fB\-\-port\fR" reads "--port".
awk '/^\.SH/ { opt = ($0 ~ /^\.SH +"?OPTIONS"?/); next } opt' "$M1" |
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\&//g' \
		-e 's/\\c//g' >"$TMP/options.txt"
grep -oE '(^|[ ,[])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b' "$TMP/help" |
	sed -E 's/^[ ,[]//' | sort -u >"$TMP/help_opts"
nopt=$(wc -l <"$TMP/help_opts")
[ "$nopt" -ge 10 ] || fail "only $nopt options found in moonbox --help"
while read -r o; do
	grep -qE -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|$)" "$TMP/options.txt" ||
		fail "moonbox --help has $o, moonbox.1's OPTIONS does not"
done <"$TMP/help_opts"
echo "$nopt options documented"

step "usage errors: status 2 (moonbox.1's EXIT STATUS), named moonbox"
# However moonbox is started (here by its path in the build tree), its
# messages name it "moonbox", getopt's and --help's included.
grep -q "^Usage: moonbox " "$TMP/help" || fail "--help does not say 'Usage: moonbox'"
rc=$(run_status "$TMP/badopt" "$MOONBOX" --no-such-option)
assert_eq "$rc" 2 "unknown option: exit status"
assert_eq "$(head -n 1 "$TMP/badopt.err")" \
	"moonbox: unrecognized option '--no-such-option'" "unknown option: message"
rc=$(run_status "$TMP/badval" "$MOONBOX" -c 0 -r "$TMP/none.pcap")
assert_eq "$rc" 2 "bad option value: exit status"
grep -q "^moonbox: --cores: out of range '0'$" "$TMP/badval.err" ||
	fail "bad option value: message"
echo "ok"
