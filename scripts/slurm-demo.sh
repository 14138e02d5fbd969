#!/usr/bin/env bash
# Runs the Slurm array job of docs/scale-out.md on a real (one-node) Slurm cluster on this machine
# and checks that the merged summary.json is byte for byte the one of a single unsharded run.
#
# Not part of CI: it installs Debian's slurm-wlm (needs root and apt), starts munged, slurmctld and
# slurmd on localhost, and takes a minute or two. Run from anywhere: scripts/slurm-demo.sh
#
# Knobs (environment): SCENARIO (default scenarios/zrs.toml, a light one), TRIALS (4096),
# SHARDS (4), DEMO_DIR (/tmp/replisim-slurm-demo, wiped at each start).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCENARIO=${SCENARIO:-scenarios/zrs.toml}
TRIALS=${TRIALS:-4096}
SHARDS=${SHARDS:-4}
DEMO_DIR=${DEMO_DIR:-/tmp/replisim-slurm-demo}
# The cluster's own config, never /etc/slurm: every Slurm command and daemon reads SLURM_CONF.
export SLURM_CONF=$DEMO_DIR/slurm.conf

say() { printf '\n== %s\n' "$*"; }
# Echo a command before running it, so the output shows exactly what ran.
run() { printf '+ %s\n' "$*"; "$@"; }
die() { printf 'slurm-demo: %s\n' "$*" >&2; exit 1; }

# --- Stop daemons from an earlier run of this script (by the pids it wrote), so a second run does
# not find the ports taken. Only pids whose command is the expected daemon are signalled.
stop_pidfile() { # pidfile name
    local pid
    [[ -f $1 ]] || return 0
    pid=$(cat "$1")
    if [[ $(ps -o comm= -p "$pid" 2>/dev/null) == "$2" ]]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$1"
}
stop_ours() {
    stop_pidfile "$DEMO_DIR/slurmd.pid" slurmd
    stop_pidfile "$DEMO_DIR/slurmctld.pid" slurmctld
    # munged only if this script started it (an already-running munged is left alone).
    stop_pidfile "$DEMO_DIR/munged.pid" munged
}
stop_ours

# --- Install. Debian's slurm-wlm brings slurmctld, slurmd, the client commands and munge.
say "install slurm-wlm"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    # A stale package list makes the first install fail; update only then, as it is slow.
    apt-get install -y -q slurm-wlm || { apt-get update -q && apt-get install -y -q slurm-wlm; }
fi
echo "slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm)"

# --- Build the binary the jobs run; sbatch passes our PATH to them, so they find it.
say "build replisim"
(cd "$ROOT" && cargo build --release --quiet)
export PATH=$ROOT/target/release:$PATH
command -v replisim

# --- A fresh working directory: state, spool, logs, the job's parts and results.
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"/{state,spool,job}

# --- munge: Slurm's daemons and commands authenticate each other with it. Debian's package made
# /etc/munge/munge.key; munged runs as the munge user (as systemd would start it, which this
# machine may not have). Reuse one that already answers.
say "munge"
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    echo "munged already running"
else
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$DEMO_DIR/munged.pid"
    munge -n | unmunge | grep STATUS
fi

# --- slurm.conf for one node, this machine. `slurmd -C` prints the node's real CPUs, sockets,
# cores and memory in slurm.conf syntax; the node must not claim more, or slurmd is refused.
# linuxproc/none need no cgroups (containers often cannot have them); no accounting database, so
# no slurmdbd: sacct is not available, we poll squeue instead. kill_invalid_depend cancels the
# merge job if the array fails instead of leaving it pending forever.
HOST=$(hostname -s)
NODE_LINE=$(slurmd -C | head -n 1)
[[ $NODE_LINE == "NodeName=$HOST "* ]] || die "slurmd -C names another host: $NODE_LINE"
cat >"$SLURM_CONF" <<EOF
ClusterName=replisim-demo
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
DependencyParameters=kill_invalid_depend
ReturnToService=2
StateSaveLocation=$DEMO_DIR/state
SlurmdSpoolDir=$DEMO_DIR/spool
SlurmctldPidFile=$DEMO_DIR/slurmctld.pid
SlurmdPidFile=$DEMO_DIR/slurmd.pid
SlurmctldLogFile=$DEMO_DIR/slurmctld.log
SlurmdLogFile=$DEMO_DIR/slurmd.log
$NODE_LINE State=UNKNOWN
PartitionName=demo Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
say "slurm.conf"
cat "$SLURM_CONF"

# --- Start the daemons (they fork and write their pid files) and stop them on any exit.
cleanup() {
    local rc=$?
    stop_ours
    exit "$rc"
}
trap cleanup EXIT
say "start slurmctld and slurmd"
run sinfo --version
slurmctld -c # -c: a clean start, no state from an earlier cluster
slurmd
# Wait for the node to register and be schedulable.
for i in $(seq 60); do
    state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
    [[ $state == idle ]] && break
    [[ $i == 60 ]] && { tail -n 20 "$DEMO_DIR"/slurm*.log; die "node $HOST is '$state', not idle"; }
    sleep 1
done
run sinfo

# --- The job file is the one in docs/scale-out.md, cut out of the doc, so what the doc shows is
# what runs here. Only the sbatch line's options (which override #SBATCH lines) and the
# environment (SCENARIO, TRIALS) make it small enough for this machine.
say "job file (from docs/scale-out.md)"
cd "$DEMO_DIR/job"
awk '/^## Slurm array job/ { in_section = 1 }
     in_section && /^#!\/bin\/bash/ { in_block = 1 }
     in_block && /^```/ { exit }
     in_block { print }' "$ROOT/docs/scale-out.md" >replisim.sbatch
[[ -s replisim.sbatch ]] || die "no job file found in docs/scale-out.md"
cat replisim.sbatch
# The scenario at the same relative path as in the repository, as the job's working directory is
# the one sbatch is run from.
mkdir -p "$(dirname "$SCENARIO")" && cp "$ROOT/$SCENARIO" "$SCENARIO"

say "submit"
# As written, the job asks 8 CPUs for each task: more than this node has, so sbatch refuses it
# (--test-only: ask the scheduler, submit nothing). The sbatch line below overrides that.
run sbatch --test-only replisim.sbatch 2>&1 || true
export SCENARIO TRIALS
start=$(date +%s)
printf '+ TRIALS=%s SCENARIO=%s sbatch --parsable --array=0-%s --cpus-per-task=1 replisim.sbatch\n' \
    "$TRIALS" "$SCENARIO" "$((SHARDS - 1))"
jobid=$(sbatch --parsable --array=0-$((SHARDS - 1)) --cpus-per-task=1 replisim.sbatch)
echo "$jobid"
merge_cmd="replisim merge parts/part-*-of-${SHARDS}.json --out results/scenario"
printf '+ sbatch --parsable --dependency=afterok:%s --wrap "%s"\n' "$jobid" "$merge_cmd"
mergeid=$(sbatch --parsable --dependency=afterok:"$jobid" --wrap "$merge_cmd")
echo "$mergeid"
run squeue

# --- Wait until neither job is pending or running (no sacct without accounting: poll squeue).
for i in $(seq 600); do
    [[ -z $(squeue -h -j "$jobid,$mergeid" -o %i 2>/dev/null) ]] && break
    [[ $i == 600 ]] && die "jobs still queued after 600 s"
    sleep 1
done
echo "array and merge finished in $(($(date +%s) - start)) s"
# Each array task and the merge job, while slurmctld still remembers them (MinJobAge, 300 s).
printf '+ scontrol show job %s %s\n' "$jobid" "$mergeid"
for id in "$jobid" "$mergeid"; do
    # -o: one line per job (per array task); keep the fields that say how it ended.
    scontrol show job "$id" -o | awk '{ line = ""
        for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|ArrayTaskId|JobName|JobState|ExitCode)=/) line = line " " $i
        print substr(line, 2) }'
done
# What each task and the merge printed (slurm-<array>_<task>.out, slurm-<merge>.out), also when
# they failed, then the parts they left.
for f in slurm-*.out; do
    if [[ -s $f ]]; then echo "--- $f"; cat "$f"; fi
done
if [[ -d parts ]]; then run ls parts; fi
[[ -f results/scenario/summary.json ]] || die "the merge job wrote no results/scenario/summary.json"

# --- The same scenario, trials and seed in one unsharded run on this machine.
say "unsharded run"
run replisim run "$SCENARIO" --trials "$TRIALS" --out unsharded --quiet

say "compare"
run sha256sum results/scenario/summary.json unsharded/summary.json
if cmp results/scenario/summary.json unsharded/summary.json; then
    echo "identical"
else
    die "merged summary.json differs from the unsharded run's"
fi
