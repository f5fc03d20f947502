#!/usr/bin/env bash
# radosgw.sh start DIR PORT [MON_PORT] | stop DIR - a throw-away single-node Ceph cluster
# (one monitor, one in-memory OSD, one radosgw) on loopback, for tests that
# need a real S3 server. start prints, one per line:
#   endpoint=http://127.0.0.1:PORT  access_key=...  secret_key=...  region=...
# and leaves the daemons' pids in DIR/*.pid; stop kills those pids only.
set -euo pipefail

cmd=${1:?usage: radosgw.sh start DIR PORT | stop DIR}
dir=${2:?DIR}

stop() {
    local f pid
    for f in "$dir"/rgw.pid "$dir"/osd.pid "$dir"/mon.pid; do
        [[ -f $f ]] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

if [[ $cmd == stop ]]; then stop; exit 0; fi
[[ $cmd == start ]] || { echo "radosgw.sh: unknown command $cmd" >&2; exit 2; }
port=${3:?PORT}
mon_port=${4:-$((port + 1))}
access_key=lakehousetest
secret_key=lakehousetestsecret0123456789
region=us-east-1

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/ceph.conf

# bring_up: a fresh cluster in $dir; 1 with $why on failure. On a loaded
# machine an OSD now and then starts with a superblock that does not match
# the cluster ("wrong fsid" in its log) and never boots: the caller retries.
bring_up() {
rm -rf "$dir"/ceph.conf "$dir"/monmap "$dir"/keyring "$dir"/run "$dir"/log "$dir"/mon "$dir"/osd
fsid=$(cat /proc/sys/kernel/random/uuid)
cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon pg warn min per osd = 0
mon max pg per osd = 1000
osd objectstore = memstore
memstore device bytes = 1073741824
osd data = $dir/osd/\$name
osd crush chooseleaf type = 0
ms bind ipv6 = false
public addr = 127.0.0.1
[mon.a]
mon data = $dir/mon/a
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw dns name = 127.0.0.1
CONF
mkdir -p "$dir"/run "$dir"/log "$dir"/mon/a "$dir"/osd/osd.0
export CEPH_CONF=$conf

monmaptool --create --clobber --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" || { why="ceph-mon --mkfs failed"; return 1; }
ceph-mon -c "$conf" -i a --foreground >"$dir/log/mon.out" 2>&1 &
echo $! > "$dir/mon.pid"

osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(timeout 30 ceph -c "$conf" osd create "$osd_uuid") || { why="osd create failed"; return 1; }
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1 || { why="ceph-osd --mkfs failed"; return 1; }
ceph-osd -c "$conf" -i "$osd_id" --foreground >"$dir/log/osd.out" 2>&1 &
echo $! > "$dir/osd.pid"

# radosgw creates its pools at start and gives up when they do not become
# active in time: start it once the OSD is up (slow on a loaded machine).
osd_up=0
for _ in $(seq 120); do
    grep -q "wrong fsid" "$dir/log/osd.0.log" 2>/dev/null && break
    if timeout 10 ceph -c "$conf" osd stat 2>/dev/null | grep -q ' 1 up'; then osd_up=1; break; fi
    sleep 0.5
done
[[ $osd_up == 1 ]] || { why="the OSD did not come up"; return 1; }

# one retry: a radosgw that timed out waiting for its pools exits
up=0
for attempt in 1 2; do
    radosgw -c "$conf" -n client.rgw.a --foreground >>"$dir/log/rgw.out" 2>&1 &
    echo $! > "$dir/rgw.pid"
    for _ in $(seq 1200); do
        if curl -s -m 5 -o /dev/null "http://127.0.0.1:$port/"; then up=1; break; fi
        kill -0 "$(cat "$dir/rgw.pid")" 2>/dev/null || break
        sleep 0.1
    done
    [[ $up == 1 ]] && break
    kill "$(cat "$dir/rgw.pid")" 2>/dev/null || true
    sleep 1
done
[[ $up == 1 ]] || { why="radosgw did not answer on port $port"; return 1; }
return 0
}

why=""
ok=0
for attempt in 1 2 3; do
    if bring_up; then ok=1; break; fi
    echo "radosgw.sh: attempt $attempt: $why" >&2
    tail -n 3 "$dir/log/osd.0.log" "$dir/log/client.rgw.a.log" >&2 2>/dev/null || true
    stop
done
[[ $ok == 1 ]] || { echo "radosgw.sh: no cluster after 3 attempts (logs in $dir/log)" >&2; exit 1; }
timeout 60 radosgw-admin -c "$conf" -n client.rgw.a user create --uid=lakehouse --display-name=lakehouse \
    --access-key="$access_key" --secret="$secret_key" >"$dir/log/user.out" 2>&1 || { echo "radosgw.sh: radosgw-admin user create failed" >&2; stop; exit 1; }

echo "endpoint=http://127.0.0.1:$port"
echo "access_key=$access_key"
echo "secret_key=$secret_key"
echo "region=$region"
