#!/usr/bin/env bash
# Every event a program logs (log_LEVEL("event=NAME ...") in its C
# sources) has a row in the "Log lines" table of its page, at the levels
# the code logs it and with the fields it logs, and every row there names
# an event, a level and fields the code still logs. Operators grep and
# alert on these, so a new event or field must not go unexplained and a
# stale row must not promise one.
# Usage: events.sh SOURCE_DIR
set -u
cd "$1" || exit 1 # the sources' globs below expand here
pass=0 fail=0
ok() { echo "ok: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }

# code_events SOURCE...: "NAME LEVEL FIELD..." for each log call: the
# key=value keys in its string literals from the event name to the end of
# the call (a format split over lines, also after `log_LEVEL(` alone on
# its line, and a field an argument adds: h->exercise ? " exercise=1" : "").
code_events() {
    awk '
        function emit() {
            out = name " " level
            t = text
            while (match(t, /[ "][a-z][a-z0-9_]*=/)) {
                out = out " " substr(t, RSTART + 1, RLENGTH - 2)
                t = substr(t, RSTART + RLENGTH)
            }
            print out
            name = ""
        }
        {
            line = $0
            if (name != "") {
                text = text " " line
            } else if (match(line, /log_(debug|info|warn|error)\("event=[a-z][a-z0-9_]*/)) {
                s = substr(line, RSTART + 4, RLENGTH - 4)
                split(s, a, /\("event=/)
                name = a[2]
                level = a[1]
                text = substr(line, RSTART + RLENGTH)
            } else if (prev ~ /log_(debug|info|warn|error)\($/ &&
                       match(line, /^ *"event=[a-z][a-z0-9_]*/)) {
                level = prev
                sub(/.*log_/, "", level)
                sub(/\($/, "", level)
                s = substr(line, RSTART, RLENGTH)
                sub(/^ *"event=/, "", s)
                name = s
                text = substr(line, RSTART + RLENGTH)
            }
            if (name != "" && line ~ /\);/)
                emit()
            prev = line
        }' "$@"
}
# doc_rows PAGE: "NAME LEVEL_CELL" for each row of its Log lines table.
doc_rows() {
    awk '/^## Log lines/ { on = 1; next } /^## / { on = 0 } on' "$1" |
        sed -n 's/^| `\([a-z][a-z0-9_]*\)` | \([^|]*\)|.*/\1 \2/p'
}
# doc_fields PAGE: "NAME FIELD..." for each row: the words inside
# backquotes in its fields cell.
doc_fields() {
    awk '/^## Log lines/ { on = 1; next } /^## / { on = 0 } on' "$1" |
        awk -F'|' '/^\| `[a-z]/ {
            n = $2; gsub(/[ `]/, "", n); c = $4; out = ""
            while (match(c, /`[^`]*`/)) {
                out = out " " substr(c, RSTART + 1, RLENGTH - 2)
                c = substr(c, RSTART + RLENGTH)
            }
            gsub(/[^a-z0-9_ ]/, " ", out)
            print n, out
        }'
}

# check PAGE SOURCE...: the page's "## Log lines" table against the sources.
check() {
    local page=$1 calls pairs names rows fields missing stale dyn n lv f k cell all wrong=""
    shift
    [ -f "$page" ] || { bad "$page exists"; return; }
    # A name built at run time (event=%s) cannot be checked: spell it out.
    dyn=$(grep -nE '(^|[^a-z_])event=%' "$@")
    [ -z "$dyn" ] && ok "$page: every event name in the code is spelled out" ||
        bad "$page: event names built at run time: $dyn"
    calls=$(code_events "$@")
    [ -n "$calls" ] || { bad "$page: the sources log events ($*)"; return; }
    pairs=$(echo "$calls" | cut -d' ' -f1,2 | sort -u)
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
    # Fields: each key a call logs is in its row's fields, and each field
    # a row names is logged by some call of that event.
    fields=$(doc_fields "$page")
    wrong=""
    while read -r n lv f; do
        cell=" $(echo "$fields" | awk -v n="$n" '$1 == n { $1 = ""; print }' | tr '\n' ' ') "
        echo "$rows" | grep -q "^$n " || continue
        for k in $f; do
            case "$cell" in *" $k "*) ;; *) wrong="$wrong $n:$k (logged, not in the row)" ;; esac
        done
    done <<<"$calls"
    while read -r n f; do
        all=" $(echo "$calls" | awk -v n="$n" '$1 == n { $1 = ""; $2 = ""; print }' | tr '\n' ' ') "
        for k in $f; do
            case "$all" in *" $k "*) ;; *) wrong="$wrong $n:$k (in the row, never logged)" ;; esac
        done
    done <<<"$fields"
    [ -z "$wrong" ] && ok "$page: each row gives the fields the code logs its event with" ||
        bad "$page: fields differ:$wrong"
}

check docs/OPERATIONS.md relay/*.c
check docs/NODE.md clients/daemon.c clients/node_store.c clients/renrakud.c
check docs/DRILLS.md clients/drill_run.c clients/drill_sim.c

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
