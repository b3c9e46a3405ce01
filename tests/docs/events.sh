#!/usr/bin/env bash
# Every event a program logs (event=NAME in its C sources) has a row in
# the "Log lines" table of its page, and every row there names an event
# the code still logs. Operators grep and alert on these names, so a new
# event must not go unexplained and a stale row must not promise one.
# Usage: events.sh SOURCE_DIR
set -u
cd "$1" || exit 1 # the sources' globs below expand here
pass=0 fail=0
ok() { echo "ok: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }

# check PAGE SOURCE...: the page's "## Log lines" table against the sources.
check() {
    local page=$1 code rows missing stale dyn
    shift
    [ -f "$page" ] || { bad "$page exists"; return; }
    # A name built at run time (event=%s) cannot be checked: spell it out.
    dyn=$(grep -nE 'event=%' "$@")
    [ -z "$dyn" ] && ok "$page: every event name in the code is spelled out" ||
        bad "$page: event names built at run time: $dyn"
    code=$(grep -ohE 'event=[a-z][a-z0-9_]*' "$@" | sed 's/^event=//' | sort -u)
    rows=$(awk '/^## Log lines/ { on = 1; next } /^## / { on = 0 } on' "$page" |
        sed -n 's/^| `\([a-z][a-z0-9_]*\)` |.*/\1/p' | sort -u)
    [ -n "$code" ] || { bad "$page: the sources log events ($*)"; return; }
    missing=$(comm -23 <(echo "$code") <(echo "$rows") | tr '\n' ' ')
    stale=$(comm -13 <(echo "$code") <(echo "$rows") | tr '\n' ' ')
    [ -z "$missing" ] &&
        ok "$page: each of the $(echo "$code" | wc -l) events logged has a row in its Log lines table" ||
        bad "$page: events logged without a row in its Log lines table: $missing"
    [ -z "$stale" ] && ok "$page: each row names an event the code logs" ||
        bad "$page: rows for events the code no longer logs: $stale"
}

check docs/OPERATIONS.md relay/*.c

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
