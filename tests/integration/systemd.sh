#!/usr/bin/env bash
# systemd.sh - the systemd units (deploy/systemd/) and the sd_notify protocol.
#  - `systemd-analyze verify` accepts every unit with no warning at all (the
#    units are copied with ExecStart pointing at the binaries under test,
#    since verify insists that the command exists); each service has the
#    hardening settings; lakehouse.sysusers.conf creates the user;
#  - against a fake NOTIFY_SOCKET (tests/tools/notify_listen.c) each process
#    sends READY=1 only once it serves (its sockets exist when READY=1
#    arrives), WATCHDOG=1 repeatedly when WATCHDOG_USEC is set, STOPPING=1 on
#    SIGTERM, and exits 0: the broker in --no-supervise mode, ingest and the
#    processor on a path socket, the transformer on an abstract socket;
#  - in group mode only the broker reports: its children do not inherit
#    NOTIFY_SOCKET / WATCHDOG_USEC;
#  - an unusable NOTIFY_SOCKET is logged and the process still serves.
source "$(dirname "$0")/../lib.sh"

UNITS="$LAKEHOUSE_SOURCE/deploy/systemd"
LISTEN="$LAKEHOUSE_BIN/lakehouse-notify-listen"
RUN="$LAKEHOUSE_DATA/run"

# ---- unit files ----
if ! command -v systemd-analyze >/dev/null 2>&1; then
    fail "systemd-analyze" "not installed: it is in Debian's systemd package (apt-get install systemd)"
else
    mkdir -p "$T/units"
    cp "$UNITS"/lakehouse.target "$UNITS"/lakehouse-*.service "$T/units/"
    sed -i "s#/usr/local/bin/#$LAKEHOUSE_BIN/#g" "$T"/units/*.service
    for u in lakehouse.target lakehouse-broker.service lakehouse-ingest.service \
             lakehouse-processor.service lakehouse-transformer.service; do
        if [ ! -f "$T/units/$u" ]; then
            fail "verify $u" "missing from deploy/systemd/"
            continue
        fi
        rc=0
        out=$(cd "$T/units" && systemd-analyze verify "$T/units/$u" 2>&1) || rc=$?
        # verify exits 0 on unknown keys and bad values too: any output is a failure
        if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
            pass "verify $u"
        else
            fail "verify $u" "exit $rc: $(echo "$out" | head -5)"
        fi
    done
    for p in broker ingest processor transformer; do
        f="$UNITS/lakehouse-$p.service"
        [ -f "$f" ] || continue
        missing=""
        for key in "Type=notify" "WatchdogSec=" "Restart=on-failure" "PartOf=lakehouse.target" \
                   "WantedBy=lakehouse.target" "StateDirectory=lakehouse" "ProtectSystem=strict" \
                   "NoNewPrivileges=yes" "PrivateTmp=yes" \
                   "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
                   "User=lakehouse" "ReadWritePaths=/var/lib/lakehouse" \
                   "ExecStart=/usr/local/bin/lakehouse-$p "; do
            grep -q "^$key" "$f" || missing="$missing '$key'"
        done
        [ "$p" = broker ] || grep -q "^After=lakehouse-broker.service" "$f" || missing="$missing 'After=lakehouse-broker.service'"
        [ "$p" != broker ] || grep -q "^ExecStart=.* --no-supervise" "$f" || missing="$missing '--no-supervise'"
        grep -q "^ExecStart=.* --config /etc/lakehouse/lakehouse.json" "$f" || missing="$missing '--config /etc/lakehouse/lakehouse.json'"
        if [ -z "$missing" ]; then pass "lakehouse-$p.service settings"; else fail "lakehouse-$p.service settings" "lacks$missing"; fi
    done
fi

# the user the units run as (User=lakehouse), created by systemd-sysusers
if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$T/sysroot/etc"
    if out=$(systemd-sysusers --root="$T/sysroot" --dry-run "$UNITS/lakehouse.sysusers.conf" 2>&1) &&
        echo "$out" | grep -q "Creating user 'lakehouse'"; then
        pass "sysusers creates the lakehouse user"
    else
        fail "sysusers creates the lakehouse user" "$(echo "$out" | head -3)"
    fi
else
    fail "systemd-sysusers" "not installed: it is in Debian's systemd package"
fi

# ---- the notification protocol against a fake NOTIFY_SOCKET ----
if [ ! -x "$LISTEN" ]; then
    fail "notify listener" "$LISTEN not built (tests/tools/notify_listen.c)"
    finish; exit
fi

LISTEN_PID=""
PROC_PID=""
stop_listener() {
    [ -n "$LISTEN_PID" ] || return 0
    kill -TERM "$LISTEN_PID" 2>/dev/null
    wait "$LISTEN_PID" 2>/dev/null
    LISTEN_PID=""
}
trap 'stop_listener; [ -z "$PROC_PID" ] || kill -KILL "$PROC_PID" 2>/dev/null; cleanup' EXIT

# start_listener OUT SOCKET [--exists PATH]...
start_listener() {
    local out=$1; shift
    "$LISTEN" "$@" --max-seconds 120 >"$out" 2>&1 &
    LISTEN_PID=$!
    wait_until 10 grep -q '^listening' "$out"
}
# lines OUT PATTERN: how many received datagrams match
lines() { grep -c -- "$2" "$1" 2>/dev/null; }
# pings_at_least OUT N
pings_at_least() { [ "$(lines "$1" 'WATCHDOG=1')" -ge "$2" ]; }
# ping_gap OUT: mean ms between WATCHDOG=1 datagrams
ping_gap() {
    grep 'WATCHDOG=1' "$1" | sed 's/^t=\([0-9]*\) .*/\1/' |
        awk 'NR == 1 {first = $1} {last = $1; n = NR} END {print (n > 1) ? int((last - first) / (n - 1)) : -1}'
}

# notify_case NAME SOCKET SERVING_SOCKET... -- COMMAND...
# Runs COMMAND with NOTIFY_SOCKET=SOCKET WATCHDOG_USEC=400000 and checks
# READY (after every SERVING_SOCKET exists), WATCHDOG, STOPPING, exit 0.
notify_case() {
    local name=$1 sock=$2; shift 2
    local exists=()
    while [ "$1" != "--" ]; do exists+=(--exists "$1"); shift; done
    shift
    local out="$T/$name.notify" log="$T/$name.log"
    rm -f "$RUN"/*.sock
    start_listener "$out" "$sock" "${exists[@]}" || { fail "$name: listener" "$(cat "$out")"; return; }
    NOTIFY_SOCKET="$sock" WATCHDOG_USEC=400000 "$@" >>"$log" 2>&1 &
    PROC_PID=$!
    if wait_until 30 grep -q 'READY=1' "$out"; then
        pass "$name: READY=1 received"
    else
        fail "$name: READY=1 received" "nothing within 30 s: $(tail -3 "$log")"
    fi
    local ready
    ready=$(grep -m1 'READY=1' "$out")
    case "$ready" in
        *" exists=1 "*) pass "$name: READY=1 only once serving" ;;
        *) fail "$name: READY=1 only once serving" "its sockets did not exist yet: $ready" ;;
    esac
    check_eq "$name: READY=1 from the process itself" "pid=$PROC_PID" "$(echo "$ready" | awk '{print $2}')"
    # 400 ms watchdog: a ping every 200 ms
    if wait_until 5 pings_at_least "$out" 6; then
        pass "$name: WATCHDOG=1 repeated"
    else
        fail "$name: WATCHDOG=1 repeated" "$(lines "$out" 'WATCHDOG=1') pings in 5 s"
    fi
    local gap
    gap=$(ping_gap "$out")
    if [ "$gap" -ge 150 ] && [ "$gap" -le 450 ]; then
        pass "$name: WATCHDOG=1 every half of WATCHDOG_USEC"
    else
        fail "$name: WATCHDOG=1 every half of WATCHDOG_USEC" "mean gap $gap ms, expected about 200"
    fi
    kill -TERM "$PROC_PID"
    local rc=0
    wait "$PROC_PID" || rc=$?
    PROC_PID=""
    check_eq "$name: exit status after SIGTERM" 0 "$rc"
    sleep 0.2
    stop_listener
    if grep -q 'STOPPING=1' "$out" && [ "$(grep -n 'READY=1' "$out" | head -1 | cut -d: -f1)" -lt \
         "$(grep -n 'STOPPING=1' "$out" | head -1 | cut -d: -f1)" ]; then
        pass "$name: STOPPING=1 on SIGTERM"
    else
        fail "$name: STOPPING=1 on SIGTERM" "$(tail -3 "$out")"
    fi
    check_eq "$name: exactly one READY=1" 1 "$(lines "$out" 'READY=1')"
}

notify_case broker "$T/notify.sock" "$RUN/events-in.sock" "$RUN/events-out.sock" -- \
    lakehouse-broker --data "$LAKEHOUSE_DATA" --no-supervise
notify_case ingest "$T/notify.sock" "$RUN/ingest.sock" -- \
    lakehouse-ingest --data "$LAKEHOUSE_DATA"
notify_case processor "$T/notify.sock" "$RUN/processor.sock" -- \
    lakehouse-processor --data "$LAKEHOUSE_DATA"
notify_case transformer "@lakehouse-test-$$" "$RUN/transformer.sock" -- \
    lakehouse-transformer --data "$LAKEHOUSE_DATA"

# ---- group mode: only the broker talks to the service manager ----
out="$T/group.notify"
start_listener "$out" "$T/notify.sock" || fail "group: listener" "$(cat "$out")"
export NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000
if start_group; then
    unset NOTIFY_SOCKET WATCHDOG_USEC
    wait_until 10 grep -q 'READY=1' "$out" || true
    sleep 1 # children had time to report, if they wrongly did
    check_eq "group: READY=1 once" 1 "$(lines "$out" 'READY=1')"
    senders=$(awk '{print $2}' "$out" | grep '^pid=' | sort -u | tr '\n' ' ')
    check_eq "group: only the broker notifies" "pid=$GROUP_PID " "$senders"
    leaked=""
    for p in ingest processor transformer; do
        pid=$(cat "$RUN/$p.pid" 2>/dev/null)
        if [ -z "$pid" ] || [ ! -r "/proc/$pid/environ" ]; then
            leaked="$leaked $p(not running)"
        elif tr '\0' '\n' <"/proc/$pid/environ" | grep -qE '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)='; then
            leaked="$leaked $p"
        fi
    done
    check_eq "group: children lack NOTIFY_SOCKET/WATCHDOG_*" "" "$leaked"
    rc=0
    stop_group || rc=$?
    check_eq "group: exit status" 0 "$rc"
    sleep 0.2
    grep -q 'STOPPING=1' "$out" && pass "group: STOPPING=1" || fail "group: STOPPING=1" "$(tail -3 "$out")"
else
    unset NOTIFY_SOCKET WATCHDOG_USEC
    fail "group: start" "$(tail -5 "$T/group.log")"
fi
stop_listener

# ---- an unusable NOTIFY_SOCKET is not fatal ----
rm -f "$RUN"/*.sock
NOTIFY_SOCKET=relative/path lakehouse-processor --data "$LAKEHOUSE_DATA" >"$T/bad.log" 2>&1 &
PROC_PID=$!
if wait_until 20 test -S "$RUN/processor.sock"; then pass "bad NOTIFY_SOCKET: still serves"; else fail "bad NOTIFY_SOCKET: still serves" "$(tail -3 "$T/bad.log")"; fi
grep -q 'notify_unavailable' "$T/bad.log" && pass "bad NOTIFY_SOCKET: logged" || fail "bad NOTIFY_SOCKET: logged" "$(tail -3 "$T/bad.log")"
kill -TERM "$PROC_PID"; rc=0; wait "$PROC_PID" || rc=$?; PROC_PID=""
check_eq "bad NOTIFY_SOCKET: exit status" 0 "$rc"

finish
