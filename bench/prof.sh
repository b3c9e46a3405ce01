# Sourced by bench/bench.sh and bench/bench_peers.sh: one extra run of a
# load under perf (cpu-clock sampling of the relay), not counted in any
# figure, to say what limits it. Needs W (work dir), HERE and emit().
PERF_OK=
PERF_WHY="perf is not installed"
if command -v perf >/dev/null; then
    if perf record -e cpu-clock -o "$W/perf.probe" true >/dev/null 2>&1; then
        PERF_OK=1
    else
        PERF_WHY="perf record -e cpu-clock fails here (perf_event_paranoid?)"
    fi
    rm -f "$W/perf.probe"
fi
prof_emit() { # NAME: the profile in $W/perf.data as a JSON line
    local j
    if j=$(python3 "$HERE/perf_split.py" "$W/perf.data"); then
        emit "{\"figure\":\"profile\",\"name\":\"$1\",\"data\":$j}"
    else
        emit "{\"figure\":\"profile\",\"name\":\"$1\",\"data\":null,\"why\":\"perf report failed\"}"
    fi
    rm -f "$W/perf.data"
}
prof_cmd() { # NAME CMD...: runs the program CMD under perf
    local name=$1
    shift
    if [ -z "$PERF_OK" ]; then
        emit "{\"figure\":\"profile\",\"name\":\"$name\",\"data\":null,\"why\":\"$PERF_WHY\"}"
        return 0
    fi
    perf record -e cpu-clock -F 999 -o "$W/perf.data" -- "$@" >/dev/null 2>&1
    prof_emit "$name"
}
prof_run() { # NAME PID CMD...: runs CMD while perf samples PID
    local name=$1 pid=$2 pp j
    shift 2
    if [ -z "$PERF_OK" ]; then
        "$@" >/dev/null
        emit "{\"figure\":\"profile\",\"name\":\"$name\",\"data\":null,\"why\":\"$PERF_WHY\"}"
        return 0
    fi
    perf record -e cpu-clock -F 4999 -p "$pid" -o "$W/perf.data" >/dev/null 2>&1 &
    pp=$!
    sleep 0.5 # perf attaches to every thread of pid
    "$@" >/dev/null
    kill -INT "$pp" 2>/dev/null
    wait "$pp" 2>/dev/null
    prof_emit "$name"
}
