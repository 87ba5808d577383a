#!/usr/bin/env bash
# local-slurm.sh — a real single-node Slurm cluster on this machine, for `--executor slurm`
# development and for the Slurm integration test in CI.
#
#   scripts/local-slurm.sh start  [--state-dir DIR]   install if missing, start munged+slurmctld+slurmd
#   scripts/local-slurm.sh stop   [--state-dir DIR]   scancel our jobs, then TERM daemons by pid file
#   scripts/local-slurm.sh status [--state-dir DIR]   exit 0 when the cluster answers, 3 when it does not
#
# Needs root (slurmd runs jobs as their user) but not systemd, cgroups or slurmdbd. Debian/Ubuntu only
# for the install step. Everything lives in a scratch state dir: slurm.conf, pid files, daemon logs,
# StateSaveLocation, SlurmdSpoolDir and the job completion log (jobcomp.txt).
#
# Environment:
#   LOCAL_SLURM_STATE_DIR       state dir (default /tmp/prunebench-local-slurm; --state-dir wins)
#   LOCAL_SLURM_MAX_ARRAY_SIZE  MaxArraySize (default 1001, as on most real clusters); a small value
#                               such as 4 forces sweeps to be split into several job arrays
#   LOCAL_SLURM_CPUS            CPUs the node offers (default: what `slurmd -C` reports). A larger
#                               value oversubscribes the machine (SlurmdParameters=config_overrides).
#   LOCAL_SLURM_PARTITION       partition name (default "local")
#
# After `start`, /etc/slurm/slurm.conf is a symlink to the generated config (only if that path was
# free or already one of our links), so plain `sbatch`/`squeue` work; otherwise export the printed
# SLURM_CONF. Details and pitfalls: shared/notes/slurm-local.md.
set -euo pipefail

PROG=local-slurm
die() { echo "$PROG: error: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }

ACTION=${1:-}
[ $# -gt 0 ] && shift
STATE_DIR=${LOCAL_SLURM_STATE_DIR:-/tmp/prunebench-local-slurm}
while [ $# -gt 0 ]; do
  case $1 in
    --state-dir) [ $# -ge 2 ] || die "--state-dir needs a directory"; STATE_DIR=$2; shift 2 ;;
    --state-dir=*) STATE_DIR=${1#--state-dir=}; shift ;;
    *) die "unknown argument '$1' (usage: $0 start|stop|status [--state-dir DIR])" ;;
  esac
done
case $ACTION in start|stop|status) ;; *) die "usage: $0 start|stop|status [--state-dir DIR]" ;; esac
case $STATE_DIR in /*) ;; *) STATE_DIR=$(pwd)/$STATE_DIR ;; esac
case $STATE_DIR in *[[:space:]]*) die "--state-dir must not contain whitespace (slurm.conf cannot quote it): '$STATE_DIR'" ;; esac

MAX_ARRAY_SIZE=${LOCAL_SLURM_MAX_ARRAY_SIZE:-1001}
PARTITION=${LOCAL_SLURM_PARTITION:-local}
[[ $MAX_ARRAY_SIZE =~ ^[1-9][0-9]*$ ]] || die "LOCAL_SLURM_MAX_ARRAY_SIZE must be a positive integer, got '$MAX_ARRAY_SIZE'"
[[ $PARTITION =~ ^[A-Za-z0-9_-]+$ ]] || die "LOCAL_SLURM_PARTITION must be a plain name, got '$PARTITION'"
if [ -n "${LOCAL_SLURM_CPUS:-}" ]; then
  [[ $LOCAL_SLURM_CPUS =~ ^[1-9][0-9]*$ ]] || die "LOCAL_SLURM_CPUS must be a positive integer, got '$LOCAL_SLURM_CPUS'"
fi

CONF=$STATE_DIR/slurm.conf
MUNGE_DIR=$STATE_DIR/munge
export PATH=$PATH:/usr/sbin:/sbin
export SLURM_CONF=$CONF

# ---- processes, by pid file only -----------------------------------------------------------------
# A pid is "alive" when it exists, is not a zombie (PID 1 in containers may not reap) and runs the
# expected program, so a recycled pid is never signalled.
pid_alive() { # pidfile comm
  local f=$1 comm=$2 pid state
  [ -s "$f" ] || return 1
  pid=$(tr -dc 0-9 <"$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || echo Z)
  [ "$state" != Z ] && [ "$state" != X ]
}
stop_pid() { # pidfile comm
  local f=$1 comm=$2 pid i
  if pid_alive "$f" "$comm"; then
    pid=$(tr -dc 0-9 <"$f")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do pid_alive "$f" "$comm" || break; sleep 0.1; done
    if pid_alive "$f" "$comm"; then say "$comm (pid $pid) ignored TERM for 10 s; sending KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    say "stopped $comm (pid $pid)"
  fi
  rm -f "$f"
}

munge_works() { command -v munge >/dev/null && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
# Only with a config file: with a missing SLURM_CONF, client commands retry for 60 s before failing.
ctld_up() { [ -f "$CONF" ] && scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_name() { slurmd -C 2>/dev/null | head -1 | sed -nE 's/^NodeName=([^ ]+).*/\1/p'; }

# ---- install -------------------------------------------------------------------------------------
install_if_missing() {
  local missing=() c
  for c in sbatch squeue scontrol scancel sinfo slurmctld slurmd munged munge; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "Slurm is not installed (missing: ${missing[*]}) and installing it needs root; run as root or: apt-get install slurmctld slurmd slurm-client munge"
  command -v apt-get >/dev/null || die "Slurm is not installed (missing: ${missing[*]}) and apt-get is not available; install slurmctld, slurmd, slurm-client and munge by hand"
  local log=$STATE_DIR/apt-install.log
  say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]}); log: $log"
  if ! { apt-get -o DPkg::Lock::Timeout=600 update \
      && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
           slurmctld slurmd slurm-client munge; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2 || true
    die "could not install Slurm with apt-get (last lines above, full log in $log)"
  fi
  for c in sbatch squeue scontrol slurmctld slurmd munged; do
    command -v "$c" >/dev/null || die "apt-get finished but '$c' is still not on PATH (log: $log)"
  done
}

# ---- munge ---------------------------------------------------------------------------------------
start_munge() {
  if pid_alive "$MUNGE_DIR/munged.pid" munged && munge_works; then return 0; fi
  if munge_works; then say "using the munged that is already running (not started by this script)"; return 0; fi
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
    chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge "$MUNGE_DIR"
  chown munge:munge /run/munge "$MUNGE_DIR"
  runuser -u munge -- munged --pid-file="$MUNGE_DIR/munged.pid" \
    || die "munged failed to start (see /var/log/munge/munged.log)"
  local i
  for i in $(seq 1 50); do munge_works && break; sleep 0.1; done
  munge_works || die "munged started but 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
  say "started munged (pid $(cat "$MUNGE_DIR/munged.pid" 2>/dev/null || echo '?'))"
}

# ---- slurm.conf ----------------------------------------------------------------------------------
write_conf() {
  local nodeline node cpus mem realmem extra=""
  nodeline=$(slurmd -C | head -1)
  node=$(sed -nE 's/^NodeName=([^ ]+).*/\1/p' <<<"$nodeline")
  mem=$(sed -nE 's/.* RealMemory=([0-9]+).*/\1/p' <<<"$nodeline")
  [ -n "$node" ] && [ -n "$mem" ] || die "cannot read NodeName/RealMemory from 'slurmd -C': $nodeline"
  realmem=$((mem * 9 / 10))   # a RealMemory above the real one drains the node
  if [ -n "${LOCAL_SLURM_CPUS:-}" ]; then
    nodeline="NodeName=$node CPUs=$LOCAL_SLURM_CPUS RealMemory=$realmem"
    extra="SlurmdParameters=config_overrides"
  else
    nodeline=$(sed -E "s/ RealMemory=[0-9]+/ RealMemory=$realmem/" <<<"$nodeline")
  fi
  mkdir -p "$STATE_DIR/state" "$STATE_DIR/spool" "$STATE_DIR/log"
  cat >"$CONF.tmp" <<EOF
# Generated by scripts/local-slurm.sh — a single-node scratch cluster. Edits are overwritten on start.
ClusterName=prunebench-local
SlurmctldHost=$node(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE_DIR/jobcomp.txt
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
DependencyParameters=kill_invalid_depend
MaxArraySize=$MAX_ARRAY_SIZE
MinJobAge=3600
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
$extra
$nodeline NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

# /etc/slurm/slurm.conf -> our config, so that plain client commands find it. Never replaces a real file.
link_etc_conf() {
  local etc=/etc/slurm/slurm.conf
  if [ -L "$etc" ] || [ ! -e "$etc" ]; then
    mkdir -p /etc/slurm; ln -sfn "$CONF" "$etc"
  elif [ "$(readlink -f "$etc")" != "$CONF" ]; then
    say "note: $etc is a real file; client commands need: export SLURM_CONF=$CONF"
  fi
}
unlink_etc_conf() {
  local etc=/etc/slurm/slurm.conf
  if [ -L "$etc" ] && [ "$(readlink "$etc")" = "$CONF" ]; then rm -f "$etc"; fi
}

wait_node_ready() {
  local node=$1 i st=""
  for i in $(seq 1 300); do
    st=$(sinfo -h -n "$node" -o %t 2>/dev/null | head -1 || true)
    case $st in idle|mix|mixed|alloc|allocated|comp|completing) return 0 ;; esac
    sleep 0.1
  done
  sinfo -R >&2 || true
  die "node $node did not become idle within 30 s (state '${st:-none}'); logs: $STATE_DIR/log/"
}

# ---- actions -------------------------------------------------------------------------------------
do_status() {
  local ok=0 d
  for d in munge/munged:munged slurmctld:slurmctld slurmd:slurmd; do
    if pid_alive "$STATE_DIR/${d%%:*}.pid" "${d##*:}"; then say "${d##*:}: running (pid $(tr -dc 0-9 <"$STATE_DIR/${d%%:*}.pid"))"
    else say "${d##*:}: not running from $STATE_DIR"; fi
  done
  if [ -f "$CONF" ] && command -v scontrol >/dev/null && ctld_up; then
    sinfo >&2 || true
    squeue >&2 || true
    say "up (SLURM_CONF=$CONF)"
  else
    ok=3; say "down"
  fi
  return $ok
}

do_start() {
  [ "$(id -u)" = 0 ] || die "start needs root (slurmd must run as root to launch jobs)"
  mkdir -p "$STATE_DIR"
  install_if_missing
  if [ -f "$CONF" ] && pid_alive "$STATE_DIR/slurmctld.pid" slurmctld && pid_alive "$STATE_DIR/slurmd.pid" slurmd && munge_works && ctld_up; then
    local have
    have=$(scontrol show config 2>/dev/null | sed -nE 's/^MaxArraySize *= *([0-9]+).*/\1/p')
    [ "$have" = "$MAX_ARRAY_SIZE" ] || say "warning: running cluster has MaxArraySize=$have, not $MAX_ARRAY_SIZE; 'stop' then 'start' to change it"
    link_etc_conf
    wait_node_ready "$(node_name)"
    say "already running (SLURM_CONF=$CONF)"
    return 0
  fi
  # Half-started or stale: stop what is ours, refuse to fight a foreign slurmctld.
  stop_pid "$STATE_DIR/slurmd.pid" slurmd
  stop_pid "$STATE_DIR/slurmctld.pid" slurmctld
  if ctld_up; then die "a slurmctld not started from $STATE_DIR already answers for $CONF; stop it first"; fi
  start_munge
  write_conf
  link_etc_conf
  slurmctld -f "$CONF" || die "slurmctld failed to start; see $STATE_DIR/log/slurmctld.log"
  local i
  for i in $(seq 1 100); do ctld_up && break; sleep 0.1; done
  ctld_up || { tail -n 20 "$STATE_DIR/log/slurmctld.log" >&2 || true; die "slurmctld did not answer 'scontrol ping' within 10 s"; }
  slurmd -f "$CONF" || die "slurmd failed to start; see $STATE_DIR/log/slurmd.log"
  wait_node_ready "$(node_name)"
  say "started: partition $PARTITION, MaxArraySize=$MAX_ARRAY_SIZE, state in $STATE_DIR"
  say "SLURM_CONF=$CONF"
}

do_stop() {
  if [ -f "$CONF" ] && command -v scancel >/dev/null && ctld_up; then
    # Running job steps outlive slurmd: cancel the partition's jobs first and give them a moment.
    scancel -p "$(sed -nE 's/^PartitionName=([^ ]+).*/\1/p' "$CONF")" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  stop_pid "$STATE_DIR/slurmd.pid" slurmd
  stop_pid "$STATE_DIR/slurmctld.pid" slurmctld
  stop_pid "$MUNGE_DIR/munged.pid" munged
  unlink_etc_conf
  say "stopped (state kept in $STATE_DIR)"
}

case $ACTION in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
esac
