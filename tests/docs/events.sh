#!/usr/bin/env bash
# Every event a program logs (log_LEVEL("event=NAME ...") in its C
# sources) has a row in the "Log lines" table of its page, at the levels
# the code logs it, and every row there names an event the code still
# logs. Operators grep and alert on these names and levels, so a new event
# must not go unexplained and a stale row must not promise one.
# Usage: events.sh SOURCE_DIR
set -u
cd "$1" || exit 1 # the sources' globs below expand here
pass=0 fail=0
ok() { echo "ok: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }

# code_events SOURCE...: "NAME LEVEL" for each log call, also when the
# format string starts the line after `log_LEVEL(`.
code_events() {
    awk '
        match($0, /log_(debug|info|warn|error)\("event=[a-z][a-z0-9_]*/) {
            s = substr($0, RSTART + 4, RLENGTH - 4)
            split(s, a, /\("event=/)
            print a[2], a[1]
        }
        prev ~ /log_(debug|info|warn|error)\($/ && match($0, /^ *"event=[a-z][a-z0-9_]*/) {
            lv = prev
            sub(/.*log_/, "", lv)
            sub(/\($/, "", lv)
            s = substr($0, RSTART, RLENGTH)
            sub(/^ *"event=/, "", s)
            print s, lv
        }
        { prev = $0 }' "$@" | sort -u
}
# doc_rows PAGE: "NAME LEVEL_CELL" for each row of its Log lines table.
doc_rows() {
    awk '/^## Log lines/ { on = 1; next } /^## / { on = 0 } on' "$1" |
        sed -n 's/^| `\([a-z][a-z0-9_]*\)` | \([^|]*\)|.*/\1 \2/p'
}

# check PAGE SOURCE...: the page's "## Log lines" table against the sources.
check() {
    local page=$1 pairs names rows missing stale dyn n lv cell wrong=""
    shift
    [ -f "$page" ] || { bad "$page exists"; return; }
    # A name built at run time (event=%s) cannot be checked: spell it out.
    dyn=$(grep -nE '(^|[^a-z_])event=%' "$@")
    [ -z "$dyn" ] && ok "$page: every event name in the code is spelled out" ||
        bad "$page: event names built at run time: $dyn"
    pairs=$(code_events "$@")
    [ -n "$pairs" ] || { bad "$page: the sources log events ($*)"; return; }
    names=$(echo "$pairs" | cut -d' ' -f1 | sort -u)
    rows=$(doc_rows "$page")
    missing=$(comm -23 <(echo "$names") <(echo "$rows" | cut -d' ' -f1 | sort -u) | tr '\n' ' ')
    stale=$(comm -13 <(echo "$names") <(echo "$rows" | cut -d' ' -f1 | sort -u) | tr '\n' ' ')
    [ -z "$missing" ] &&
        ok "$page: each of the $(echo "$names" | wc -l) events logged has a row in its Log lines table" ||
        bad "$page: events logged without a row in its Log lines table: $missing"
    [ -z "$stale" ] && ok "$page: each row names an event the code logs" ||
        bad "$page: rows for events the code no longer logs: $stale"
    # Levels: each level the code logs an event at is in its row(s), and
    # each level a row names is one the code uses for it.
    while read -r n lv; do
        cell=$(echo "$rows" | awk -v n="$n" '$1 == n { $1 = ""; print }')
        [ -z "$cell" ] && continue
        echo "$cell" | grep -qw "$lv" || wrong="$wrong $n (logged at $lv, the page says$cell)"
    done <<<"$pairs"
    while read -r n cell; do
        for lv in $(echo "$cell" | grep -owE 'debug|info|warn|error'); do
            echo "$pairs" | grep -qx "$n $lv" || wrong="$wrong $n (the page says $lv, never logged so)"
        done
    done <<<"$rows"
    [ -z "$wrong" ] && ok "$page: each row gives the levels the code logs its event at" ||
        bad "$page: levels differ:$wrong"
}

check docs/OPERATIONS.md relay/*.c
check docs/NODE.md clients/daemon.c clients/node_store.c clients/renrakud.c
check docs/DRILLS.md clients/drill_run.c clients/drill_sim.c

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
