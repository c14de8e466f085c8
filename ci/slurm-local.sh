#!/usr/bin/env bash
# A single-node Slurm on localhost for tests: install, start, stop, status.
#   ci/slurm-local.sh install   Debian packages slurm-wlm and munge (needs root)
#   ci/slurm-local.sh start     munged, slurmctld and slurmd with a config for this machine
#   ci/slurm-local.sh stop
#   ci/slurm-local.sh status
# Partitions `cpu` (default) and `gpu`, as profiles/slurm names them. The node declares a
# `gpu` GRES of 2 with AutoDetect=off backed by character-device files, so GPU requests
# schedule on a machine without GPUs. No accounting database: MinJobAge keeps finished jobs
# in slurmctld for an hour, long enough for the plugin's `squeue` status checks.
set -euo pipefail

ETC=/etc/slurm
STATE=/var/spool/slurm-shoplora
LOGS=/var/log/slurm-shoplora
GPU_DEVICES=(/dev/shoplora-gpu0 /dev/shoplora-gpu1)

install() {
    if command -v slurmctld >/dev/null && command -v munged >/dev/null; then
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
    local host cpus mem_mb
    host=$(hostname -s)
    cpus=$(nproc)
    # Leave 1 GiB to the system.
    mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    rm -f "$ETC/cgroup.conf"  # slurmd autodetects cgroup v1/v2; TaskPlugin and Proctrack do not use it
    mkdir -p "$ETC" "$STATE/ctld" "$STATE/d" "$LOGS"
    for i in "${!GPU_DEVICES[@]}"; do
        [ -e "${GPU_DEVICES[$i]}" ] || mknod "${GPU_DEVICES[$i]}" c 1 3  # same kind as /dev/null
    done
    cat > "$ETC/slurm.conf" <<CONF
ClusterName=shoplora-local
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=${host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=${host} MaxTime=INFINITE State=UP
CONF
    cat > "$ETC/gres.conf" <<CONF
AutoDetect=off
NodeName=${host} Name=gpu File=${GPU_DEVICES[0]}
NodeName=${host} Name=gpu File=${GPU_DEVICES[1]}
CONF
}

start() {
    install
    write_config
    mkdir -p /etc/munge /var/log/munge /run/munge /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown -R munge:munge /etc/munge /var/log/munge /run/munge /var/lib/munge 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
    # Daemons must not hold the caller's stdout open.
    pgrep -r S,R,D -x munged >/dev/null || munged --force </dev/null >/dev/null 2>&1
    pgrep -r S,R,D -x slurmctld >/dev/null || slurmctld </dev/null >/dev/null 2>&1
    pgrep -r S,R,D -x slurmd >/dev/null || slurmd </dev/null >/dev/null 2>&1
    for _ in $(seq 1 60); do
        if sinfo -h -o "%T" 2>/dev/null | grep -qE "^(idle|mixed|allocated)"; then
            sinfo
            return
        fi
        sleep 1
    done
    echo "slurm did not come up; logs in $LOGS" >&2
    tail -n 30 "$LOGS"/*.log >&2 || true
    exit 1
}

stop() {
    pkill -x slurmd 2>/dev/null || true
    pkill -x slurmctld 2>/dev/null || true
    pkill -x munged 2>/dev/null || true
}

status() {
    sinfo && squeue
}

"${1:-status}"
