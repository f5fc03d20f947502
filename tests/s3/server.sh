# tests/s3/server.sh - sourced by the tests that need a real S3 server (after
# tests/lib.sh). s3_server_start starts radosgw (radosgw.sh) in $T/rgw on
# free ports and exports S3_ENDPOINT, S3_REGION, LAKEHOUSE_S3_ACCESS_KEY_ID and
# LAKEHOUSE_S3_SECRET_ACCESS_KEY (PASS "radosgw start"); 1 with a FAIL line
# when it does not come up. s3_server_stop stops it (call it from the test's
# EXIT trap, before cleanup).
s3_server_stop() { bash "$LAKEHOUSE_SOURCE/tests/s3/radosgw.sh" stop "$T/rgw" >/dev/null 2>&1; }
s3_server_start() {
    local out port mon_port
    port=$(free_port); mon_port=$(free_port)
    if ! out=$(bash "$LAKEHOUSE_SOURCE/tests/s3/radosgw.sh" start "$T/rgw" "$port" "$mon_port" 2>&1); then
        fail "radosgw start" "$(echo "$out" | tail -3)"; return 1
    fi
    pass "radosgw start"
    S3_ENDPOINT=$(echo "$out" | sed -n 's/^endpoint=//p')
    S3_REGION=$(echo "$out" | sed -n 's/^region=//p')
    LAKEHOUSE_S3_ACCESS_KEY_ID=$(echo "$out" | sed -n 's/^access_key=//p')
    LAKEHOUSE_S3_SECRET_ACCESS_KEY=$(echo "$out" | sed -n 's/^secret_key=//p')
    export S3_ENDPOINT S3_REGION LAKEHOUSE_S3_ACCESS_KEY_ID LAKEHOUSE_S3_SECRET_ACCESS_KEY
}
