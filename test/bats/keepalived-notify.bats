#!/usr/bin/env bats
# hooks/keepalived-notify with a fake ctsyncd and logger on PATH.

setup() {
  HOOK="$BATS_TEST_DIRNAME/../../hooks/keepalived-notify"
  export PATH="$BATS_TEST_DIRNAME/fake:$PATH"
  export CALLS="$BATS_TEST_TMPDIR/calls" LOGGED="$BATS_TEST_TMPDIR/logged"
  export LOCKFILE="$BATS_TEST_TMPDIR/notify.lock"
  export CTSYNC_DEFAULTS="$BATS_TEST_TMPDIR/defaults"
  export CONFIG=/etc/ctsync-test.conf
  export CTSYNCD="$BATS_TEST_DIRNAME/fake/ctsyncd"
  unset FAKE_FAIL FAKE_HANG FAKE_SLEEP STEP_TIMEOUT COMMIT_TIMEOUT LOCK_TIMEOUT
  : >"$CALLS"
  : >"$LOGGED"
}

calls() { cat "$CALLS"; }

# wait_for FILE PATTERN: bounded poll (10 s) until the file has a matching line.
wait_for() {
  i=0
  until grep -q -- "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 1000 ] || { echo "timeout waiting for '$2' in $1"; return 1; }
    sleep 0.01
  done
}

@test "generic notify INSTANCE ... MASTER runs commit, flush, resync, bulk in order" {
  run "$HOOK" INSTANCE VI_1 MASTER 150
  [ "$status" -eq 0 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -c
-C /etc/ctsync-test.conf -f
-C /etc/ctsync-test.conf -R
-C /etc/ctsync-test.conf -B" ]
  grep -q '^ctsync daemon.info MASTER: transition started (INSTANCE VI_1 priority 150)$' "$LOGGED"
  grep -q '^ctsync daemon.info MASTER: transition finished$' "$LOGGED"
}

@test "GROUP form is accepted" {
  run "$HOOK" GROUP G1 FAULT
  [ "$status" -eq 0 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -t" ]
}

@test "BACKUP with a running daemon: -s, then -t and -n" {
  run "$HOOK" INSTANCE VI_1 BACKUP 100
  [ "$status" -eq 0 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -s
-C /etc/ctsync-test.conf -t
-C /etc/ctsync-test.conf -n" ]
}

@test "BACKUP with no daemon: starts it with -d first" {
  export FAKE_FAIL="-s"
  run "$HOOK" backup
  [ "$status" -eq 0 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -s
-C /etc/ctsync-test.conf -d
-C /etc/ctsync-test.conf -t
-C /etc/ctsync-test.conf -n" ]
  grep -q 'daemon.warning BACKUP: ctsyncd not answering; starting it' "$LOGGED"
}

@test "BACKUP: a daemon that cannot start aborts the sequence with exit 1" {
  export FAKE_FAIL="-s -d"
  run "$HOOK" INSTANCE VI_1 BACKUP 100
  [ "$status" -eq 1 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -s
-C /etc/ctsync-test.conf -d" ]
  grep -q 'daemon.err BACKUP: cannot start ctsyncd; transition aborted' "$LOGGED"
}

@test "FAULT runs -t only" {
  run "$HOOK" fault
  [ "$status" -eq 0 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -t" ]
}

@test "STOP does nothing and succeeds" {
  run "$HOOK" INSTANCE VI_1 STOP 0
  [ "$status" -eq 0 ]
  [ -z "$(calls)" ]
}

@test "notify_master form: state as first argument (master, primary)" {
  run "$HOOK" master
  [ "$status" -eq 0 ]
  [ "$(calls | wc -l)" -eq 4 ]
  : >"$CALLS"
  run "$HOOK" primary
  [ "$status" -eq 0 ]
  [ "$(calls | sed -n 1p)" = "-C /etc/ctsync-test.conf -c" ]
}

@test "state from the script name (symlink keepalived-notify-fault)" {
  ln -s "$HOOK" "$BATS_TEST_TMPDIR/keepalived-notify-fault"
  run "$BATS_TEST_TMPDIR/keepalived-notify-fault"
  [ "$status" -eq 0 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -t" ]
}

@test "a failing step is logged, the others still run, exit 1" {
  export FAKE_FAIL="-c"
  run "$HOOK" INSTANCE VI_1 MASTER 150
  [ "$status" -eq 1 ]
  [ "$(calls | wc -l)" -eq 4 ]
  grep -q "daemon.err MASTER: .*ctsyncd -c (commit external cache) failed (exit 1)" "$LOGGED"
  grep -q 'daemon.err MASTER: transition finished with errors' "$LOGGED"
}

@test "a hanging step is cut by STEP_TIMEOUT and reported" {
  export FAKE_SLEEP="-B" STEP_TIMEOUT=1
  run "$HOOK" INSTANCE VI_1 MASTER 150
  [ "$status" -eq 1 ]
  grep -q 'ctsyncd -B (bulk send to peers) timed out after 1s' "$LOGGED"
}

@test "usage errors exit 2" {
  run "$HOOK" INSTANCE VI_1
  [ "$status" -eq 2 ]
  run "$HOOK" INSTANCE VI_1 SLEEPY 100
  [ "$status" -eq 2 ]
  run "$HOOK"
  [ "$status" -eq 2 ]
  [ -z "$(calls)" ]
}

@test "settings come from the defaults file; the environment wins" {
  unset CONFIG
  printf 'CONFIG=/from/defaults.conf\nSTEP_TIMEOUT=7\n' >"$CTSYNC_DEFAULTS"
  run "$HOOK" fault
  [ "$(calls)" = "-C /from/defaults.conf -t" ]
  : >"$CALLS"
  CONFIG=/from/env.conf run "$HOOK" fault
  [ "$(calls)" = "-C /from/env.conf -t" ]
}

@test "overlapping transitions do not interleave: the newer one waits" {
  export FAKE_HANG="-c" FAKE_RELEASE="$BATS_TEST_TMPDIR/release"
  "$HOOK" INSTANCE VI_1 MASTER 150 2>/dev/null &
  first=$!
  wait_for "$CALLS" ' -c$'
  "$HOOK" INSTANCE VI_1 FAULT 150 2>/dev/null &
  second=$!
  wait_for "$LOGGED" 'FAULT: waiting for the previous transition'
  [ "$(calls)" = "-C /etc/ctsync-test.conf -c" ]
  touch "$FAKE_RELEASE"
  wait "$first"
  wait "$second"
  [ "$(calls)" = "-C /etc/ctsync-test.conf -c
-C /etc/ctsync-test.conf -f
-C /etc/ctsync-test.conf -R
-C /etc/ctsync-test.conf -B
-C /etc/ctsync-test.conf -t" ]
}

@test "lock not obtained within LOCK_TIMEOUT: exit 3, nothing run" {
  exec 8>>"$LOCKFILE"
  flock 8
  LOCK_TIMEOUT=1 run "$HOOK" fault
  exec 8>&-
  [ "$status" -eq 3 ]
  [ -z "$(calls)" ]
  grep -q 'FAULT: lock .* not obtained within 1s' "$LOGGED"
}

@test "the lock fd is not inherited by steps (a daemon started by BACKUP must not hold it)" {
  cat >"$BATS_TEST_TMPDIR/ctsyncd" <<'SH'
#!/bin/sh
echo "$*" >>"$CALLS"
[ -e "/proc/$$/fd/9" ] && echo "fd 9 inherited" >>"$CALLS"
exit 0
SH
  chmod +x "$BATS_TEST_TMPDIR/ctsyncd"
  CTSYNCD="$BATS_TEST_TMPDIR/ctsyncd" FAKE_FAIL="-s" run "$HOOK" backup
  [ "$status" -eq 0 ]
  [ "$(calls)" = "-C /etc/ctsync-test.conf -s
-C /etc/ctsync-test.conf -t
-C /etc/ctsync-test.conf -n" ]
}
