#!/usr/bin/env bash
# Runs deploy/slurm/agon.sbatch on a real Slurm cluster: a throwaway one of two virtual nodes on
# this machine (munged, slurmctld and two slurmd in a temporary folder; nothing under /etc is
# touched). Checks a 2-worker run to COMPLETED, a run in which a worker is killed, a resume on the
# same run folder and a requeue, a run whose workers all die, and a run folder that is not
# writable; then takes the cluster down and checks that no daemon is left. Usage, as root on
# Linux: deploy/slurm/test.sh [AGON] (default: this checkout's build, from
# swift build --show-bin-path; nothing is built here).
set -euo pipefail

[ "$(uname -s)" = Linux ] || { echo "deploy/slurm/test.sh: skipped: Slurm's test cluster needs Linux"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "deploy/slurm/test.sh: skipped: starting Slurm's daemons needs root"; exit 0; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
agon=${1:-$(cd "$root" && swift build --show-bin-path)/agon}
[ -x "$agon" ] || { echo "deploy/slurm/test.sh: agon executable $agon not found: run swift build, or give its path" >&2; exit 1; }
agon=$(realpath "$agon")

source "$root/scripts/lib/setup.sh"
# Slurm and munge; sqlite3 reads run.db; procps has pgrep; the coordinator's default data set.
ensure_packages --no-install-recommends slurmctld slurmd slurm-client munge sqlite3 procps dataset-fashion-mnist

# Fixed ports for this cluster alone (slurmctld, then one slurmd per node) and for the jobs.
ctld_port=16817
node_ports=(17001 17002)
agon_port_base=21000
train=(--model mlp --batch 32 --quality-every 0 --sample-every 100 --checkpoint-every 100)

start=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# daemons: the pids of the Slurm and munge daemons that run now (zombies, which hold nothing, left out).
daemons() {
    local name pid
    for name in munged slurmctld slurmd slurmstepd; do
        for pid in $(pgrep -x "$name"); do
            [ "$(ps -o stat= -p "$pid")" != Z ] && echo "$pid"
        done
    done | sort
}
daemons_before=$(daemons)
state=$(mktemp -d /tmp/agon-slurm.XXXXXX)
chmod 755 "$state"                                      # munged, as user munge, writes in here
export SLURM_CONF=$state/slurm.conf
readonly_dir=$state/readonly

# stop_all PIDS...: SIGTERM to all at once, SIGKILL to those alive 10 s later.
stop_all() {
    local p alive
    [ $# -gt 0 ] || return 0
    kill "$@" 2> /dev/null
    for _ in $(seq 100); do
        alive=0; for p in "$@"; do kill -0 "$p" 2> /dev/null && alive=1; done
        [ $alive = 0 ] && return; sleep 0.1
    done
    kill -9 "$@" 2> /dev/null
}
# Teardown, on every exit, failed or not: cancel the jobs (scancel only while slurmctld lives:
# against a dead one it retries for a minute) and let them end, then stop the daemons.
teardown() {
    local status=$? t0 pids=() f left=()
    t0=$(date +%s%N)
    set +e
    if [ -s "$state/run/slurmctld.pid" ] && kill -0 "$(cat "$state/run/slurmctld.pid")" 2> /dev/null; then
        timeout 5 scancel --user=root > /dev/null 2>&1
        for _ in $(seq 150); do [ -z "$(timeout 5 squeue -h 2> /dev/null)" ] && break; sleep 0.1; done
    fi
    mountpoint -q "$readonly_dir" && umount "$readonly_dir"
    for f in "$state"/run/*.pid "$state/munge/munged.pid"; do [ -s "$f" ] && pids+=("$(cat "$f")"); done
    stop_all "${pids[@]}"
    # Nothing of this test may outlive it: no Slurm or munge daemon that was not there before,
    # no process (an agon role, a job step) whose command line names the temporary folder. What
    # is left fails the test, and is then killed so that the next run finds the machine clean.
    mapfile -t left < <( { comm -13 <(echo "$daemons_before") <(daemons); pgrep -f -- "$state/"; } | sort -u)
    if [ ${#left[@]} -gt 0 ]; then
        echo "deploy/slurm/test.sh: processes left after teardown:" >&2
        ps -o pid,args -p "$(IFS=,; echo "${left[*]}")" >&2
        kill -9 "${left[@]}" 2> /dev/null
        status=1
    fi
    echo "teardown: $(ms "$t0") ms"
    if [ $status -eq 0 ]; then rm -rf "$state"; echo "deploy/slurm/test.sh: passed in $(ms "$start") ms"; else echo "deploy/slurm/test.sh: failed; the cluster's files are kept in $state" >&2; fi
    exit $status
}
trap teardown EXIT
trap 'exit 130' INT TERM            # so that an interrupted test tears down too

fail() {
    echo "deploy/slurm/test.sh: FAILED: $*" >&2
    [ -n "${job:-}" ] && [ -f "$state/jobs/agon-$job.out" ] && { echo "--- output of job $job:" >&2; tail -n 40 "$state/jobs/agon-$job.out" >&2; }
    exit 1
}

# ---- the cluster ----
mkdir -p "$state"/{ctld,log,run,jobs,spool/n1,spool/n2}
install -d -o munge -g munge -m 755 "$state/munge"       # munged wants its socket folder open to all
# Its own munge key and socket: a munged already running here is left alone.
mungekey --create --keyfile="$state/munge/munge.key"
chown munge:munge "$state/munge/munge.key"
runuser -u munge -- /usr/sbin/munged --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
    --pid-file="$state/munge/munged.pid" --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed"
host=$(hostname -s)
cat > "$SLURM_CONF" <<EOF
ClusterName=agontest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
# Daemons run as root: no state folder to hand to a slurm user.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool/%n
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd-%n.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd-%n.log
# No cgroups, no accounting: nothing here needs them.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Heterogeneous jobs are started only by the backfill pass: every second, not every 30.
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
# Two virtual nodes on one host (a hetjob's components need a node each); CPUs beyond the real ones.
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=60
# A cancelled job's steps get SIGTERM, then SIGKILL this many seconds later (default 30).
KillWait=5
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=${node_ports[0]} CPUs=4 State=UNKNOWN
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=${node_ports[1]} CPUs=4 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
/usr/sbin/slurmctld -i
/usr/sbin/slurmd -N n1
/usr/sbin/slurmd -N n2
for _ in $(seq 150); do
    [ "$(sinfo -h -N -t idle -o '%N' 2> /dev/null | wc -l)" -eq 2 ] && break
    sleep 0.2
done
[ "$(sinfo -h -N -t idle -o '%N' | wc -l)" -eq 2 ] || { tail -n 20 "$state"/log/*.log >&2; fail "the cluster's 2 nodes did not come up idle in 30 s"; }
echo "cluster up: $(ms "$start") ms (2 nodes)"

# ---- helpers ----
# submit RUN_DIR ARGS...: submits agon.sbatch from the jobs folder (its output lands there).
submit() {
    local run=$1; shift
    (cd "$state/jobs" && AGON=$agon AGON_RUN_DIR=$run AGON_PORT_BASE=$agon_port_base \
        sbatch --parsable "$here/agon.sbatch" "$@")
}
# job_state JOB: the state of the job's first component (the whole job's: the batch script runs there).
job_state() { scontrol show job "$1" -o 2> /dev/null | head -n 1 | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# wait_job JOB SECONDS: waits for the job to end; echoes its final state.
wait_job() {
    local s
    for _ in $(seq $(( $2 * 5 ))); do
        s=$(job_state "$1")
        case $s in PENDING|RUNNING|COMPLETING|CONFIGURING|REQUEUED|SUSPENDED|"") sleep 0.2 ;; *) echo "$s"; return ;; esac
    done
    echo "TIMEOUT"
}
# db RUN SQL: a read-only query of the run's run.db (read-only: a query must not create the file
# before the aggregator does).
db() { sqlite3 -readonly "$1/run.db" "$2" 2> /dev/null; }
max_step() { db "$1" "SELECT coalesce(max(step), 0) FROM scalars WHERE tag = 'g_loss' AND worker = '$2'"; }
# until_step JOB N COMMAND...: waits (at most 60 s) until COMMAND prints a step of N or more, or
# the job is no longer pending or running.
until_step() {
    local job=$1 n=$2; shift 2
    for _ in $(seq 600); do
        [ "$("$@")" -ge "$n" ] 2> /dev/null && return
        case $(job_state "$job") in PENDING|RUNNING) sleep 0.1 ;; *) return ;; esac
    done
}
latest_checkpoint() { sed -n 's/.*"step":\([0-9]*\).*/\1/p' "$1/checkpoints/latest.json" 2> /dev/null; }

# ---- 1: two workers, a short run, to COMPLETED ----
run1=$state/runs/first
t0=$(date +%s%N)
job=$(submit "$run1" "${train[@]}" --steps 200)
s=$(wait_job "$job" 120)
echo "job $job (2 workers, 200 steps): $s in $(ms "$t0") ms"
[ "$s" = COMPLETED ] || fail "job $job ended $s, not COMPLETED"
[ "$(latest_checkpoint "$run1")" = 200 ] && [ -s "$run1/checkpoints/step-00000200.safetensors" ] \
    || fail "job $job: no checkpoint at step 200 in $run1/checkpoints"
for w in worker-0 worker-1; do
    [ "$(max_step "$run1" "$w")" = 200 ] || fail "job $job: run.db holds $w's steps up to $(max_step "$run1" "$w"), not 200"
done
[ "$(stat -c %a "$run1/keys" "$run1/keys/secret.key" | tr '\n' ' ')" = "700 600 " ] \
    || fail "job $job: the key folder and secret made at job start are not 0700 and 0600"

# ---- 2: one worker's task killed mid-run; the job completes with the other ----
run2=$state/runs/killed
t0=$(date +%s%N)
job=$(submit "$run2" "${train[@]}" --steps 600 --step-deadline 2)
until_step "$job" 20 max_step "$run2" worker-1
mapfile -t victims < <(pgrep -f -- "--run-dir $run2 .*--name worker-1\$")
[ ${#victims[@]} = 1 ] || fail "job $job: not one process of worker-1 to kill, but ${#victims[@]} (job state $(job_state "$job"))"
kill -9 "${victims[@]}"
killed_at=$(max_step "$run2" worker-1)
s=$(wait_job "$job" 120)
echo "job $job (2 workers, one killed after step $killed_at, 600 steps): $s in $(ms "$t0") ms"
[ "$s" = COMPLETED ] || fail "job $job ended $s, not COMPLETED, after a worker was killed"
[ "$(latest_checkpoint "$run2")" = 600 ] || fail "job $job: the last checkpoint is not at step 600"
[ "$(max_step "$run2" worker-0)" = 600 ] || fail "job $job: worker-0 did not train to step 600"
[ "$(max_step "$run2" worker-1)" -lt 600 ] || fail "job $job: worker-1 was killed too late to test anything"
contributors=$(db "$run2" "SELECT value FROM scalars WHERE tag = 'contributors' AND worker = 'coordinator' AND step = 600")
[ "${contributors%.0}" = 1 ] || fail "job $job: step 600 averaged '$contributors' workers, not the 1 left"

# ---- 3: submitted again on the first run folder with more steps, it resumes from the checkpoint;
# requeued mid-run (as after a node failure), it resumes again ----
t0=$(date +%s%N)
job=$(submit "$run1" "${train[@]}" --steps 600)
until_step "$job" 300 latest_checkpoint "$run1"
[ "$(latest_checkpoint "$run1")" -ge 300 ] || fail "job $job: no checkpoint at step 300 or later while it ran"
scontrol requeue "$job"
# Slurm holds a requeued job back for two minutes (its BeginTime); the test lets it start at once.
for _ in $(seq 300); do [ "$(job_state "$job")" = PENDING ] && break; sleep 0.1; done
scontrol update JobId="$job" StartTime=now
s=$(wait_job "$job" 120)
echo "job $job (resume of the first run to 600 steps, requeued once): $s in $(ms "$t0") ms"
[ "$s" = COMPLETED ] || fail "job $job ended $s, not COMPLETED"
out=$state/jobs/agon-$job.out
grep -q "coordinator: resuming after step 200 " "$out" || fail "job $job: the coordinator did not say it resumed after step 200"
resumed=$(sed -n 's/^coordinator: resuming after step \([0-9]*\) .*/\1/p' "$out" | tail -n 1)
[ "${resumed:-0}" -ge 300 ] || fail "job $job: after the requeue the coordinator did not resume from its checkpoint at step 300 or later"
[ "$(latest_checkpoint "$run1")" = 600 ] || fail "job $job: the last checkpoint is not at step 600"
for w in worker-0 worker-1; do
    [ "$(max_step "$run1" "$w")" = 600 ] || fail "job $job: run.db holds $w's steps up to $(max_step "$run1" "$w"), not 600"
done
generations=$(db "$run1" "SELECT group_concat(resumed_from) FROM (SELECT resumed_from FROM generations ORDER BY generation)")
[ "$generations" = "0,200,$resumed" ] || fail "job $job: run.db's generations resumed from $generations, not 0,200,$resumed"

# ---- 4: every worker killed: the job stops the coordinator, which checkpoints, and fails ----
run4=$state/runs/abandoned
t0=$(date +%s%N)
job=$(AGON_DRAIN_SECONDS=2 submit "$run4" "${train[@]}" --steps 100000)
until_step "$job" 20 max_step "$run4" worker-1
mapfile -t victims < <(pgrep -f -- "--run-dir $run4 .*--name worker-[01]\$")
[ ${#victims[@]} = 2 ] || fail "job $job: not 2 worker processes to kill, but ${#victims[@]}"
kill -9 "${victims[@]}"
s=$(wait_job "$job" 60)
echo "job $job (both workers killed): $s in $(ms "$t0") ms"
[ "$s" = FAILED ] || fail "job $job ended $s, not FAILED, after every worker was killed"
grep -q "^agon.sbatch: every worker is gone and the run is not complete" "$state/jobs/agon-$job.out" \
    || fail "job $job: no line saying that every worker is gone"
grep -q "^coordinator: stopped after step [0-9]*.*; checkpoint " "$state/jobs/agon-$job.out" \
    || fail "job $job: the coordinator did not checkpoint when it was stopped"

# ---- 5: a run folder that is not writable, or none: one clear line, a failed job ----
mkdir -p "$readonly_dir"
mount --bind "$readonly_dir" "$readonly_dir"
mount -o remount,bind,ro "$readonly_dir"
t0=$(date +%s%N)
job=$(submit "$readonly_dir" "${train[@]}" --steps 200)
s=$(wait_job "$job" 60)
echo "job $job (run folder not writable): $s in $(ms "$t0") ms"
[ "$s" = FAILED ] || fail "job $job on a read-only run folder ended $s, not FAILED"
expected="agon.sbatch: run folder $readonly_dir is not writable: Read-only file system"
[ "$(cat "$state/jobs/agon-$job.out")" = "$expected" ] || fail "job $job: its output is not the one line '$expected'"
t0=$(date +%s%N)
job=$(submit "" "${train[@]}" --steps 200)
s=$(wait_job "$job" 60)
echo "job $job (no run folder given): $s in $(ms "$t0") ms"
[ "$s" = FAILED ] || fail "job $job without AGON_RUN_DIR ended $s, not FAILED"
[ "$(cat "$state/jobs/agon-$job.out")" = "agon.sbatch: AGON_RUN_DIR is not set: give the run folder, on a filesystem every node mounts (AGON_RUN_DIR=/shared/runs/NAME sbatch agon.sbatch)" ] \
    || fail "job $job: its output is not the one line saying AGON_RUN_DIR is not set"
job=
