# SPDX-License-Identifier: MIT
# Shared helpers for diyc's benchmarks (sourced, POSIX sh).
#
# After bench_setup_user and bench_mktemp:
#   BENCH_USER  the unprivileged user every measured command runs as
#   BENCH_UID BENCH_GID, BENCH_SUBUID BENCH_SUBUID_COUNT, BENCH_SUBGID BENCH_SUBGID_COUNT
#   BENCH_TMP   the one temporary directory (root's when run as root), removed by bench_cleanup
#   BENCH_U     $BENCH_TMP/u, owned by BENCH_USER: HOME, XDG dirs, stores, results
# shellcheck disable=SC2034  # BENCH_REASON, IDLE_PID, ...: set here, read by the scripts

bench_log() { printf '%s\n' "$*" >&2; }
bench_die() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; exit 1; }

bench_is_root() { [ "$(id -u)" -eq 0 ]; }

# First subordinate range of user $1 (name) / uid $2 in file $3: prints "START COUNT".
bench_subrange() {
  awk -F: -v n="$1" -v u="$2" '($1 == n || $1 == u) && NF >= 3 { print $2, $3; exit }' "$3" 2>/dev/null
}

# A free subordinate range of 65536 ids above every range in /etc/subuid and /etc/subgid.
bench_free_subrange() {
  cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: '
    BEGIN { top = 100000 }
    NF >= 3 && $2 + $3 > top { top = $2 + $3 }
    END { print int((top + 65535) / 65536) * 65536 }'
}

# Picks the benchmark user. As root: creates (or reuses) $1 with subordinate uid and gid
# ranges. As a normal user: that user. Sets BENCH_USER, BENCH_UID, ... (see top).
bench_setup_user() {
  if bench_is_root; then
    BENCH_USER=$1
    if ! id -u "$BENCH_USER" >/dev/null 2>&1; then
      bench_log "creating user $BENCH_USER"
      useradd -m -s /bin/sh "$BENCH_USER" || bench_die "cannot create user $BENCH_USER"
    fi
    uid=$(id -u "$BENCH_USER")
    s=$(bench_free_subrange)
    if [ -z "$(bench_subrange "$BENCH_USER" "$uid" /etc/subuid)" ]; then
      usermod --add-subuids "$s-$((s + 65535))" "$BENCH_USER" || bench_die "cannot add subuids for $BENCH_USER"
    fi
    if [ -z "$(bench_subrange "$BENCH_USER" "$uid" /etc/subgid)" ]; then
      usermod --add-subgids "$s-$((s + 65535))" "$BENCH_USER" || bench_die "cannot add subgids for $BENCH_USER"
    fi
  else
    BENCH_USER=$(id -un)
  fi
  BENCH_UID=$(id -u "$BENCH_USER")
  BENCH_GID=$(id -g "$BENCH_USER")
  set -- $(bench_subrange "$BENCH_USER" "$BENCH_UID" /etc/subuid)
  BENCH_SUBUID=${1:-}; BENCH_SUBUID_COUNT=${2:-}
  set -- $(bench_subrange "$BENCH_USER" "$BENCH_UID" /etc/subgid)
  BENCH_SUBGID=${1:-}; BENCH_SUBGID_COUNT=${2:-}
}

# Creates BENCH_TMP (and BENCH_U, owned by the bench user) and arranges cleanup at exit.
bench_mktemp() {
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/diyc-bench.XXXXXX") || bench_die "mktemp failed"
  trap 'bench_cleanup' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  chmod 755 "$BENCH_TMP"
  BENCH_U=$BENCH_TMP/u
  mkdir -m 755 "$BENCH_U"
  bench_is_root && chown "$BENCH_UID:$BENCH_GID" "$BENCH_U"
  return 0
}

# Clean environment for every command run as the bench user.
bench_env() {
  printf '%s\n' env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 USER="$BENCH_USER" LOGNAME="$BENCH_USER" HOME="$BENCH_U/home" \
    XDG_DATA_HOME="$BENCH_U/data" XDG_CONFIG_HOME="$BENCH_U/config" \
    XDG_CACHE_HOME="$BENCH_U/cache" XDG_RUNTIME_DIR="$BENCH_U/run" TMPDIR="$BENCH_U/tmp"
}

bench_make_user_dirs() {
  bench_as_user mkdir -p "$BENCH_U/home" "$BENCH_U/data" "$BENCH_U/config" "$BENCH_U/cache" \
    "$BENCH_U/tmp" "$BENCH_U/results" &&
  bench_as_user mkdir -m 700 -p "$BENCH_U/run" || return 1
  # A logged-in user's XDG_RUNTIME_DIR is a tmpfs (/run/user/UID from logind): give the
  # bench user the same, so every tool keeps its runtime state where it would really be.
  if bench_is_root; then
    mount -t tmpfs -o "mode=700,uid=$BENCH_UID,gid=$BENCH_GID,size=64m" tmpfs "$BENCH_U/run" &&
      BENCH_RUN_TMPFS=1
  fi
  return 0
}

# bench_as_user CMD...: CMD as the bench user, in the clean environment.
bench_as_user() {
  # shellcheck disable=SC2046
  if bench_is_root; then
    (cd / && exec runuser -u "$BENCH_USER" -- $(bench_env) "$@")
  else
    (cd / && exec $(bench_env) "$@")
  fi
}

# bench_as_user_nocg CMD...: the same, but as root in a private mount namespace where
# /sys/fs/cgroup/unified is unmounted (crun and podman refuse a hybrid v1/v2 cgroup setup;
# the host's mounts are not touched). As a normal user this cannot be done: plain run.
bench_as_user_nocg() {
  # shellcheck disable=SC2046,SC2016
  if bench_is_root; then
    (cd / && exec unshare -m --propagation private sh -c \
      'umount /sys/fs/cgroup/unified 2>/dev/null; u=$1; shift; exec runuser -u "$u" -- "$@"' \
      sh "$BENCH_USER" $(bench_env) "$@")
  else
    (cd / && exec $(bench_env) "$@")
  fi
}

bench_cgroup_mode() {
  if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then echo v2
  elif mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then echo hybrid
  else echo v1
  fi
}

# Removes BENCH_TMP. Files in the user's stores may belong to subordinate ids: as root a
# plain rm; as a normal user rm inside a user namespace mapping the subordinate ranges.
bench_cleanup() {
  rc=$?
  [ -n "${BENCH_TMP:-}" ] && [ -d "$BENCH_TMP" ] || return "$rc"
  command -v bench_pre_cleanup >/dev/null 2>&1 && bench_pre_cleanup
  if [ -n "${BENCH_KEEP:-}" ]; then
    bench_log "kept $BENCH_TMP"
    return "$rc"
  fi
  if bench_is_root; then
    [ -n "${BENCH_RUN_TMPFS:-}" ] && umount "$BENCH_U/run"
    rm -rf --one-file-system "$BENCH_TMP"
  else
    if [ -n "$BENCH_SUBUID" ] && [ -n "$BENCH_SUBGID" ]; then
      unshare -r --map-users="$BENCH_SUBUID,1,$BENCH_SUBUID_COUNT" \
        --map-groups="$BENCH_SUBGID,1,$BENCH_SUBGID_COUNT" \
        rm -rf --one-file-system "$BENCH_TMP" 2>/dev/null
    fi
    rm -rf --one-file-system "$BENCH_TMP" 2>/dev/null
  fi
  [ -d "$BENCH_TMP" ] && bench_log "warning: could not remove all of $BENCH_TMP"
  return "$rc"
}

# --- helpers for the lifecycle benchmarks (monitor-memory, exec-latency) -----------------
# They expect REPO (the source tree), LOG (a directory for command output, root's when run
# as root) and, after bench_setup_user/bench_mktemp/bench_make_user_dirs, BENCH_*. A helper
# that fails returns 1 and leaves a one-line reason in BENCH_REASON.

# bench_reason_of FILE RC: a one-line reason from a command's stderr.
bench_reason_of() {
  r=$(grep -v -e '^[[:space:]]*$' -e 'is not a shared mount' "$1" 2>/dev/null | tail -n 1 | cut -c 1-200)
  echo "${r:-exit status $2}"
}

# bench_resolve_diyc: makes DIYC an absolute path; when DIYC is unset, build/diyc,
# built with meson if missing.
bench_resolve_diyc() {
  if [ -z "${DIYC:-}" ]; then
    DIYC=$REPO/build/diyc
    if [ ! -x "$DIYC" ]; then
      command -v meson >/dev/null 2>&1 || { BENCH_REASON="$DIYC missing and meson not found"; return 1; }
      bench_log "diyc: building $DIYC"
      if [ -d "$REPO/build" ]; then
        (cd "$REPO" && meson compile -C build) > "$LOG/build" 2>&1
      else
        (cd "$REPO" && meson setup build && meson compile -C build) > "$LOG/build" 2>&1
      fi || { tail -n 15 "$LOG/build" >&2; BENCH_REASON="build failed: $(bench_reason_of "$LOG/build" 1)"; return 1; }
    fi
  fi
  case "$DIYC" in /*) ;; *) DIYC=$(cd "$(dirname "$DIYC")" && pwd)/$(basename "$DIYC") ;; esac
  [ -x "$DIYC" ] || { BENCH_REASON="$DIYC is not an executable"; return 1; }
}

# bench_busybox_rootfs DIR: the busybox tree of tools/mkimage-busybox, copied to DIR (as
# start-latency does: a stand-in "diyc" copies the tree it is asked to import).
bench_busybox_rootfs() {
  shim=$BENCH_U/capture-rootfs
  cat > "$shim" <<SHIM
#!/bin/sh
[ "\$1 \$2" = "image import" ] || exit 2
exec cp -a "\$3" "$1"
SHIM
  chmod 755 "$shim"
  if bench_is_root; then chown "$BENCH_UID:$BENCH_GID" "$shim"; fi
  if bench_as_user sh "$REPO/tools/mkimage-busybox" --diyc "$shim" busybox > "$LOG/rootfs" 2>&1 &&
     [ -x "$1/bin/busybox" ]; then
    return 0
  fi
  BENCH_REASON="no busybox root filesystem: $(bench_reason_of "$LOG/rootfs" 1)"
  return 1
}

# bench_diyc_import NAME: the same tree imported into the bench user's diyc store as NAME.
bench_diyc_import() {
  bench_as_user sh "$REPO/tools/mkimage-busybox" --diyc "$DIYC" "$1" > "$LOG/diyc-import" 2>&1 && return 0
  BENCH_REASON="image import failed: $(bench_reason_of "$LOG/diyc-import" 1)"
  return 1
}

# bench_podman_cmd: podman's global options as start-latency uses them (own storage through
# the bench user's XDG dirs, cgroupfs manager, file events). PODMAN_STORAGE_DRIVER: overlay.
bench_podman_cmd() {
  echo "podman --cgroup-manager=cgroupfs --events-backend=file --storage-driver=${PODMAN_STORAGE_DRIVER:-overlay}"
}

# bench_podman_import ROOTFS REF: ROOTFS imported into podman's store as REF, files owned
# by container root (run in the private mount namespace, see bench_as_user_nocg).
bench_podman_import() {
  if ! bench_as_user tar -C "$1" --numeric-owner --owner=0 --group=0 \
       -cf "$BENCH_U/rootfs.tar" . > "$LOG/podman-tar" 2>&1; then
    BENCH_REASON="tar failed: $(bench_reason_of "$LOG/podman-tar" 1)"; return 1
  fi
  # shellcheck disable=SC2046
  if ! bench_as_user_nocg $(bench_podman_cmd) import "$BENCH_U/rootfs.tar" "$2" \
       > "$LOG/podman-import" 2>&1; then
    BENCH_REASON="import failed: $(bench_reason_of "$LOG/podman-import" 1)"; return 1
  fi
  rm -f "$BENCH_U/rootfs.tar"
}

# bench_podman_pause_kill: ends podman's rootless pause process (catatonit), by its pid.
bench_podman_pause_kill() {
  pf=$BENCH_U/run/libpod/tmp/pause.pid
  [ -f "$pf" ] || return 0
  bench_kill_pid "$(cat "$pf" 2>/dev/null || true)" ""
}

# bench_kill_pid PID COMM: SIGKILL to PID if it still exists, belongs to the bench user
# and (unless COMM is empty) is still called COMM.
bench_kill_pid() {
  case "$1" in ''|*[!0-9]*) return 0 ;; esac
  [ "$(stat -c %u "/proc/$1" 2>/dev/null)" = "$BENCH_UID" ] || return 0
  [ -z "$2" ] || [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 0
  kill -KILL "$1" 2>/dev/null || true
}

# bench_crun_config ARGS_JSON ROOTFS: a rootless OCI config (as start-latency's) running
# ARGS_JSON in ROOTFS with the bench user's full id map.
bench_crun_config() {
  cat <<CFG
{
  "ociVersion": "1.0.0",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $1,
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "noNewPrivileges": true
  },
  "root": {"path": "$2", "readonly": false},
  "hostname": "crun",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": $BENCH_UID, "size": 1},
                    {"containerID": 1, "hostID": $BENCH_SUBUID, "size": $BENCH_SUBUID_COUNT}],
    "gidMappings": [{"containerID": 0, "hostID": $BENCH_GID, "size": 1},
                    {"containerID": 1, "hostID": $BENCH_SUBGID, "size": $BENCH_SUBGID_COUNT}],
    "namespaces": [{"type": "user"}, {"type": "pid"}, {"type": "mount"},
                   {"type": "uts"}, {"type": "ipc"}, {"type": "network"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
CFG
}

# --- idle containers: `sleep 1000` in a detached container, one per tool -----------------
# bench_idle_TOOL_start NAME starts it and sets IDLE_PID (the container's PID 1 as the host
# sees it) and, for podman, IDLE_CONMON. Each records NAME first, so bench_idle_cleanup
# (call it from bench_pre_cleanup) removes it even after a failure or an interrupt.
# Variables: DIYC, BENCH_IMAGE (diyc image name), BENCH_PODMAN_REF, BENCH_ROOTFS.
BENCH_IDLE_DIYC=""; BENCH_IDLE_PODMAN=""; BENCH_IDLE_CRUN=""; BENCH_IDLE_PIDS=""

# bench_json_int KEY FILE: the first integer value of "KEY" in a JSON file.
bench_json_int() {
  grep -o "\"$1\"[[:space:]]*:[[:space:]]*[0-9][0-9]*" "$2" 2>/dev/null | head -n 1 | sed 's/.*://; s/[[:space:]]//g'
}

# bench_alive PID: PID exists and belongs to the bench user.
bench_alive() {
  case "$1" in ''|*[!0-9]*) return 1 ;; esac
  [ "$(stat -c %u "/proc/$1" 2>/dev/null)" = "$BENCH_UID" ]
}

bench_idle_diyc_start() {
  BENCH_IDLE_DIYC="$BENCH_IDLE_DIYC $1"
  BENCH_DIYC_NET=--net=none
  if ! bench_as_user "$DIYC" run -d --name "$1" --net=none "$BENCH_IMAGE" sleep 1000 \
       > "$LOG/diyc-run-d.out" 2> "$LOG/diyc-run-d.err" < /dev/null; then
    if grep -q -i -e '--net' -e 'unrecognized option' -e 'unknown option' "$LOG/diyc-run-d.err"; then
      # an older diyc without --net: the same without it
      BENCH_DIYC_NET=""
      bench_as_user "$DIYC" run -d --name "$1" "$BENCH_IMAGE" sleep 1000 \
        > "$LOG/diyc-run-d.out" 2> "$LOG/diyc-run-d.err" < /dev/null ||
        { BENCH_REASON="diyc run -d failed: $(bench_reason_of "$LOG/diyc-run-d.err" $?)"; return 1; }
    else
      BENCH_REASON="diyc run -d failed: $(bench_reason_of "$LOG/diyc-run-d.err" 1)"; return 1
    fi
  fi
  printed=$(head -n 1 "$LOG/diyc-run-d.out")
  [ "$printed" = "$1" ] || bench_log "diyc: warning: run -d printed '$printed', not the name '$1'"
  IDLE_PID=""
  i=0
  while [ "$i" -lt 50 ]; do # the monitor may record the pid just after `run -d` returned
    bench_as_user "$DIYC" inspect "$1" > "$LOG/diyc-inspect.json" 2> "$LOG/diyc-inspect.err" || true
    IDLE_PID=$(bench_json_int Pid "$LOG/diyc-inspect.json")
    [ -n "$IDLE_PID" ] && [ "$IDLE_PID" != 0 ] && break
    sleep 0.1; i=$((i + 1))
  done
  if ! bench_alive "$IDLE_PID"; then
    BENCH_REASON="no running PID 1 in \`diyc inspect $1\` ($(bench_reason_of "$LOG/diyc-inspect.err" 0), pid '${IDLE_PID}')"
    return 1
  fi
  BENCH_IDLE_PIDS="$BENCH_IDLE_PIDS $IDLE_PID"
}

bench_idle_podman_start() {
  BENCH_IDLE_PODMAN="$BENCH_IDLE_PODMAN $1"
  # shellcheck disable=SC2046
  if ! bench_as_user_nocg $(bench_podman_cmd) run -d --name "$1" --network=none --cgroups=disabled \
       --pull=never --log-driver=k8s-file "$BENCH_PODMAN_REF" sleep 1000 \
       > "$LOG/podman-run-d.out" 2> "$LOG/podman-run-d.err" < /dev/null; then
    BENCH_REASON="podman run -d failed: $(bench_reason_of "$LOG/podman-run-d.err" 1)"; return 1
  fi
  # shellcheck disable=SC2046
  set -- $(bench_as_user_nocg $(bench_podman_cmd) inspect --format '{{.State.ConmonPid}} {{.State.Pid}}' "$1" \
             2> "$LOG/podman-inspect.err" < /dev/null)
  IDLE_CONMON=${1:-}; IDLE_PID=${2:-}
  if ! bench_alive "$IDLE_PID" || ! bench_alive "$IDLE_CONMON"; then
    BENCH_REASON="no running conmon and PID 1 in podman inspect (conmon '$IDLE_CONMON', pid '$IDLE_PID')"
    return 1
  fi
  BENCH_IDLE_PIDS="$BENCH_IDLE_PIDS $IDLE_PID $IDLE_CONMON"
}

# crun: a bundle whose process is `sleep 1000`, run detached (`crun run -d`: crun itself
# exits, nothing supervises the container). State in $BENCH_U/run/crun.
bench_crun_cmd() {
  echo "crun --cgroup-manager=disabled --root $BENCH_U/run/crun"
}

bench_idle_crun_start() {
  b=$BENCH_U/bundle-idle
  bench_as_user mkdir -p "$b" "$BENCH_U/run/crun" || { BENCH_REASON="cannot create bundle"; return 1; }
  bench_crun_config '["sleep", "1000"]' "$BENCH_ROOTFS" > "$BENCH_TMP/idle-config.json"
  cp "$BENCH_TMP/idle-config.json" "$b/config.json"
  BENCH_IDLE_CRUN="$BENCH_IDLE_CRUN $1"
  # shellcheck disable=SC2046
  if ! bench_as_user_nocg $(bench_crun_cmd) run -d --bundle "$b" "$1" \
       > "$LOG/crun-run-d.out" 2> "$LOG/crun-run-d.err" < /dev/null; then
    BENCH_REASON="crun run -d failed: $(bench_reason_of "$LOG/crun-run-d.err" 1)"; return 1
  fi
  # shellcheck disable=SC2046
  bench_as_user_nocg $(bench_crun_cmd) state "$1" > "$LOG/crun-state.json" 2> "$LOG/crun-state.err" < /dev/null || true
  IDLE_PID=$(bench_json_int pid "$LOG/crun-state.json")
  if ! bench_alive "$IDLE_PID"; then
    BENCH_REASON="no running PID 1 in crun state ($(bench_reason_of "$LOG/crun-state.err" 0))"; return 1
  fi
  BENCH_IDLE_PIDS="$BENCH_IDLE_PIDS $IDLE_PID"
}

# bench_idle_cleanup: removes every idle container started, then SIGKILLs what is left of
# their processes (by pid, only the bench user's), then podman's pause process.
bench_idle_cleanup() {
  for n in $BENCH_IDLE_DIYC; do
    bench_as_user "$DIYC" rm -f "$n" > "$LOG/cleanup-diyc-$n" 2>&1 < /dev/null ||
      bench_log "diyc: warning: \`diyc rm -f $n\` failed: $(bench_reason_of "$LOG/cleanup-diyc-$n" 1)"
  done
  for n in $BENCH_IDLE_PODMAN; do
    # shellcheck disable=SC2046
    bench_as_user_nocg $(bench_podman_cmd) rm -f -t 0 "$n" > "$LOG/cleanup-podman-$n" 2>&1 < /dev/null ||
      bench_log "podman: warning: \`podman rm -f $n\` failed: $(bench_reason_of "$LOG/cleanup-podman-$n" 1)"
  done
  for n in $BENCH_IDLE_CRUN; do
    # shellcheck disable=SC2046
    bench_as_user_nocg $(bench_crun_cmd) delete -f "$n" > "$LOG/cleanup-crun-$n" 2>&1 < /dev/null ||
      bench_log "crun: warning: \`crun delete -f $n\` failed: $(bench_reason_of "$LOG/cleanup-crun-$n" 1)"
  done
  i=0 # SIGKILLed processes take a moment to go (a zombie counts as gone)
  while [ "$i" -lt 50 ]; do
    left=""
    for p in $BENCH_IDLE_PIDS; do
      if bench_alive "$p" && [ "$(awk '$1 == "State:" { print $2 }' "/proc/$p/status" 2>/dev/null)" != Z ]; then
        left="$left $p"
      fi
    done
    [ -n "$left" ] || break
    sleep 0.1; i=$((i + 1))
  done
  for p in $left; do
    if bench_alive "$p"; then
      bench_log "warning: pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) still running after removal: killing it"
      bench_kill_pid "$p" ""
    fi
  done
  BENCH_IDLE_DIYC=""; BENCH_IDLE_PODMAN=""; BENCH_IDLE_CRUN=""; BENCH_IDLE_PIDS=""
  bench_podman_pause_kill
}

# bench_mem PID: "RSS PSS USS ANON" of PID in kB (VmRSS and RssAnon from /proc/PID/status,
# Pss and Private_Clean + Private_Dirty from /proc/PID/smaps_rollup; "?" where unreadable).
bench_mem() {
  [ -r "/proc/$1/status" ] || return 1
  s=$(awk '$1 == "VmRSS:" { r = $2 } $1 == "RssAnon:" { a = $2 } END { print r, a }' "/proc/$1/status" 2>/dev/null) || return 1
  if [ -r "/proc/$1/smaps_rollup" ] &&
     p=$(awk '$1 == "Pss:" { p = $2 } $1 ~ /^Private_(Clean|Dirty):$/ { u += $2 }
              END { if (p == "") exit 1; print p, u }' "/proc/$1/smaps_rollup" 2>/dev/null); then
    :
  else
    p="? ?"
  fi
  # shellcheck disable=SC2086
  set -- $s $p
  [ -n "${1:-}" ] || return 1
  echo "$1 $3 $4 $2"
}

# bench_descendants PID: every descendant of PID (children first, then theirs), one a line.
bench_descendants() {
  ps -e -o pid= -o ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { n = split(kids[root], q, " "); i = 1
          while (i <= n) { c = q[i++]; print c; m = split(kids[c], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}

bench_ppid() { awk '$1 == "PPid:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
bench_comm() { cat "/proc/$1/comm" 2>/dev/null || echo '?'; }

# bench_sleep SECONDS: sleep, but let a signal's trap (cleanup) run at once.
bench_sleep() {
  sleep "$1" &
  wait $! || true
}

# --- the bridge, in a network namespace of the benchmark's own (root only) ---------------
# net-throughput's diyc-bridge rows and bridge-start. The host's network is never touched:
# bench_bridge_start COUNT makes a network and mount namespace (unshare -n -m, private
# propagation) held by a root process, BENCH_BR_PID, in which lo is up, a tmpfs is on /run
# (diyc's leases: /run/diyc/net) and an overlay over /etc (upper dir in BENCH_TMP) holds
# /etc/diyc/nethelper.conf, letting the bench user hold COUNT addresses on diyc0. diyc (the
# DIYC binary) and the diyc-nethelper next to it are installed in BENCH_BR_BIN, a directory
# of root's that everyone may search, the helper set-uid root (BENCH_BR_DIYC,
# BENCH_BR_HELPER), and `diyc network setup` makes diyc0 (172.16.0.1/16, forwarding, NAT)
# in there. bench_br_root CMD and bench_br_user CMD run CMD in those namespaces (as root; as
# the bench user in the clean environment). bench_bridge_stop ends the holder: the
# namespaces, with the bridge, the leases and the /etc overlay, go with the last process in
# them. Expects DIYC (absolute, see bench_resolve_diyc) and LOG.
BENCH_BR_PID="" BENCH_BR_NET="" BENCH_BR_SUBNET="" BENCH_BR_MTU=""

bench_br_root() { (cd / && exec nsenter -t "$BENCH_BR_PID" -n -m -- "$@"); }
bench_br_user() {
  # shellcheck disable=SC2046
  (cd / && exec nsenter -t "$BENCH_BR_PID" -n -m -- runuser -u "$BENCH_USER" -- $(bench_env) "$@")
}

# bench_end_child PID: SIGKILL to a background child of this shell (the benchmark's own:
# a child's pid cannot be reused before it is waited for), then waits for it.
bench_end_child() {
  case "$1" in ''|*[!0-9]*) return 0 ;; esac
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

bench_bridge_start() {
  bench_is_root || { BENCH_REASON="needs root (a private network namespace with the bridge, the set-uid diyc-nethelper)"; return 1; }
  for c in ip nsenter unshare runuser; do
    command -v "$c" >/dev/null 2>&1 || { BENCH_REASON="$c not found"; return 1; }
  done
  h=$(dirname "$DIYC")/diyc-nethelper
  [ -x "$h" ] || { BENCH_REASON="no $h (it is built with diyc)"; return 1; }
  BENCH_BR_BIN=$BENCH_TMP/bridge-bin
  BENCH_BR_DIYC=$BENCH_BR_BIN/diyc
  BENCH_BR_HELPER=$BENCH_BR_BIN/diyc-nethelper
  if ! { mkdir -m 755 "$BENCH_BR_BIN" && chown 0:0 "$BENCH_BR_BIN" &&
         install -o 0 -g 0 -m 755 "$DIYC" "$BENCH_BR_DIYC" &&
         install -o 0 -g 0 -m 4755 "$h" "$BENCH_BR_HELPER"; } > "$LOG/bridge-install" 2>&1; then
    BENCH_REASON="cannot install diyc and diyc-nethelper in $BENCH_BR_BIN: $(bench_reason_of "$LOG/bridge-install" 1)"
    return 1
  fi
  case ",$(findmnt -n -o OPTIONS -T "$BENCH_BR_BIN" 2>/dev/null)," in
    *,nosuid,*) BENCH_REASON="$BENCH_BR_BIN is on a nosuid mount: the set-uid helper cannot work there (set TMPDIR)"; return 1 ;;
  esac
  ov=$BENCH_TMP/bridge-etc
  # the overlay's root takes the upper dir's owner and mode: /etc's (root's, 755)
  mkdir -m 700 "$ov" "$ov/upper" "$ov/work" && chown 0:0 "$ov/upper" && chmod --reference=/etc "$ov/upper" ||
    { BENCH_REASON="cannot create $ov"; return 1; }
  ready=$BENCH_TMP/bridge.ready
  rm -f "$ready"
  # the holder: unshare and sh exec in place, so $! is its pid
  # shellcheck disable=SC2016
  (cd / && exec unshare -n -m --propagation private sh -c '
    set -e
    ip link set lo up
    mount -t tmpfs -o mode=755,size=16m tmpfs /run
    mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
    mkdir -p /etc/diyc
    chown 0:0 /etc/diyc
    chmod 755 /etc/diyc
    printf "# diyc benchmark: a private overlay over /etc, in a private network namespace\n%s bridge diyc0 count %s\n" \
      "$3" "$4" > /etc/diyc/nethelper.conf
    chown 0:0 /etc/diyc/nethelper.conf
    chmod 644 /etc/diyc/nethelper.conf
    : > "$2"
    exec sleep 2147483647' sh "$ov" "$ready" "$BENCH_USER" "$1") > "$LOG/bridge-ns" 2>&1 < /dev/null &
  BENCH_BR_PID=$!
  i=0
  while [ ! -e "$ready" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$BENCH_BR_PID" 2>/dev/null; then
      BENCH_REASON="private namespaces: $(bench_reason_of "$LOG/bridge-ns" 1)"
      bench_bridge_stop
      return 1
    fi
    sleep 0.1
  done
  BENCH_BR_NET=$(readlink "/proc/$BENCH_BR_PID/ns/net" 2>/dev/null || true)
  if [ -z "$BENCH_BR_NET" ] || [ "$BENCH_BR_NET" = "$(readlink /proc/self/ns/net)" ] ||
     [ "$(readlink "/proc/$BENCH_BR_PID/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]; then
    BENCH_REASON="the namespaces are not private (net '$BENCH_BR_NET'): not touching the host's network"
    bench_bridge_stop
    return 1
  fi
  if ! bench_br_root "$BENCH_BR_DIYC" network setup > "$LOG/bridge-setup" 2>&1 < /dev/null; then
    BENCH_REASON="diyc network setup failed: $(bench_reason_of "$LOG/bridge-setup" 1)"
    bench_bridge_stop
    return 1
  fi
  BENCH_BR_SUBNET=$(bench_br_root ip -o -4 addr show dev diyc0 2>/dev/null | awk '{ print $4; exit }')
  BENCH_BR_MTU=$(bench_br_root ip -o link show dev diyc0 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") { print $(i + 1); exit } }')
}

# bench_bridge_stop: ends the holder (a child of this shell); warns about any process still
# in its network namespace (the scripts end the bench user's by their pids before).
bench_bridge_stop() {
  [ -n "$BENCH_BR_PID" ] || return 0
  bench_end_child "$BENCH_BR_PID"
  if [ -n "$BENCH_BR_NET" ]; then
    left=""
    for p in $(ps -e -o pid=); do
      [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$BENCH_BR_NET" ] || left="$left $p($(bench_comm "$p"))"
    done
    [ -z "$left" ] || bench_log "warning: processes still in the bridge's private network namespace:$left"
  fi
  BENCH_BR_PID="" BENCH_BR_NET=""
}
