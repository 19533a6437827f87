# SPDX-License-Identifier: MIT
# Shared helpers for diyc's benchmarks (sourced, POSIX sh).
#
# After bench_setup_user and bench_mktemp:
#   BENCH_USER  the unprivileged user every measured command runs as
#   BENCH_UID BENCH_GID, BENCH_SUBUID BENCH_SUBUID_COUNT, BENCH_SUBGID BENCH_SUBGID_COUNT
#   BENCH_TMP   the one temporary directory (root's when run as root), removed by bench_cleanup
#   BENCH_U     $BENCH_TMP/u, owned by BENCH_USER: HOME, XDG dirs, stores, results

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
