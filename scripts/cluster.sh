#!/usr/bin/env bash
# A three-node Docker Swarm on one machine, for the cluster tests (docs/cluster.md).
#
#   bash scripts/cluster.sh up     start it; writes .tmp/cluster/cluster.env (the nodes' endpoints)
#   bash scripts/cluster.sh down   remove the containers, volumes and network `up` made (the node
#                                  image, localhost/train-to-serve/cluster-node:1, stays for next time)
#
# Each node is a container (with what --privileged gives, minus CAP_SYS_RESOURCE) running the host's own dockerd (Debian's docker.io), made
# from the installed binaries and the libraries ldd lists (`docker import`, nothing pulled), with
# /var/lib/docker on a volume of its own (overlay2 on a volume, not on the container's overlay).
# The nodes sit on a bridge network this script creates, each in its own network namespace, and
# publish their Engine API (plain TCP, no TLS: test-only) on a loopback port. A fourth container
# on that network runs Debian's docker-registry with basic auth; the inner engines treat it as an
# insecure (plain HTTP) registry. The three engines form one swarm of three managers.
#
# The host's own engine is never put into or out of a swarm here: only the inner engines are.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=docker
NAME=${TTS_CLUSTER_NAME:-tts-cluster}
IMAGE=localhost/train-to-serve/cluster-node:2
STATE=.tmp/cluster
NODES=(node1 node2 node3)
REGISTRY_USER=cluster
log() { echo "cluster: $*" >&2; }

# The node image: dockerd, containerd, runc, docker-init, docker-proxy, iptables (nft) and the
# registry, with their libraries; /bin/sh (dash) for the entry point.
build_image() {
  if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then return; fi
  local root
  root=$(mktemp -d)
  local bins=(/usr/sbin/dockerd /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/runc
    /usr/sbin/docker-proxy /usr/sbin/xtables-nft-multi /usr/bin/docker-registry /bin/dash /usr/bin/docker
    /usr/bin/mount /usr/bin/mkdir /usr/bin/ln /usr/bin/rm)
  place() { mkdir -p "$root$(dirname "$2")"; cp -L "$1" "$root$2"; }
  for bin in "${bins[@]}"; do place "$bin" "$bin"; done
  place /usr/bin/docker-init /usr/bin/docker-init
  mkdir -p "$root/usr/lib/x86_64-linux-gnu/xtables"
  cp -L /usr/lib/x86_64-linux-gnu/xtables/*.so "$root/usr/lib/x86_64-linux-gnu/xtables/"
  local libs
  libs=$( { for f in "${bins[@]}" /usr/lib/x86_64-linux-gnu/xtables/*.so; do ldd "$f" 2>/dev/null || true; done; } |
    grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
  for lib in $libs; do [ -e "$root$lib" ] || place "$lib" "$lib"; done
  for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -s xtables-nft-multi "$root/usr/sbin/$tool"
  done
  ln -s dash "$root/bin/sh"
  mkdir -p "$root/etc/docker" "$root/tmp" "$root/var/lib/docker" "$root/var/run" "$root/run" "$root/root" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\ndocker:x:999:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  cat >"$root/entrypoint.sh" <<'EOF'
#!/bin/sh
# What --privileged would give, which this machine refuses (its processes lack CAP_SYS_RESOURCE,
# and a privileged container asks for every capability): a writable /sys and the cgroup v1
# controllers mounted read-write, rooted at this container's own cgroup (--cgroupns private).
set -e
mount -o remount,rw /sys
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
while IFS=: read -r _ controllers _; do
  [ -n "$controllers" ] || continue
  dir=${controllers#name=}
  mkdir -p "/sys/fs/cgroup/$dir"
  mount -t cgroup -o "$controllers" cgroup "/sys/fs/cgroup/$dir"
  case $controllers in *,*) old=$IFS; IFS=,; for one in $controllers; do [ -e "/sys/fs/cgroup/$one" ] || ln -s "$dir" "/sys/fs/cgroup/$one"; done; IFS=$old ;; esac
done </proc/self/cgroup
# A node killed and started again (a machine that died and came back) keeps its container file
# system: the dead engine's pid file would make dockerd refuse to start ("pid file found"), since
# it is PID 1 again. Nothing of the old run is alive, so its runtime state goes.
rm -rf /var/run/docker.pid /var/run/docker.sock /var/run/docker
# dockerd with the flags the cluster needs; its log goes to the container's output.
exec dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 \
  --insecure-registry="$TTS_REGISTRY" --storage-driver=overlay2 "$@"
EOF
  chmod +x "$root/entrypoint.sh"
  tar -C "$root" -c . | "$DOCKER" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$IMAGE" >/dev/null
  rm -rf "$root"
}

# A loopback port nothing listens on now.
free_port() {
  node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}

up() {
  local started=$SECONDS
  down quiet
  mkdir -p "$STATE"
  build_image
  # A subnet of our own choice, so each node keeps its address when it is killed and started
  # again (the swarm knows a manager by the address it advertised).
  local subnet="" prefix=""
  for third in $(seq 80 120); do
    if "$DOCKER" network create --label train-to-serve.test-support=cluster --subnet "172.31.$third.0/24" "$NAME" >/dev/null 2>&1; then
      subnet="172.31.$third.0/24" prefix="172.31.$third"
      break
    fi
  done
  [ -n "$subnet" ] || { log "no free /24 in 172.31.80.0–172.31.120.0 for the cluster network"; exit 1; }

  # The registry, with basic auth; its data on a volume.
  local password
  password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  mkdir -p "$STATE/registry"
  htpasswd -Bbn "$REGISTRY_USER" "$password" >"$STATE/registry/htpasswd"
  cat >"$STATE/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: 0.0.0.0:5000
auth:
  htpasswd:
    realm: tts-cluster
    path: /etc/registry/htpasswd
EOF
  "$DOCKER" run -d --name "$NAME-registry" --hostname registry --network "$NAME" \
    --label train-to-serve.test-support=cluster --volume "$PWD/$STATE/registry:/etc/registry:ro" \
    --volume "$NAME-registry:/var/lib/registry" --publish 127.0.0.1::5000 \
    --entrypoint /usr/bin/docker-registry "$IMAGE" serve /etc/registry/config.yml >/dev/null
  local registry_ip
  registry_ip=$("$DOCKER" inspect -f "{{(index .NetworkSettings.Networks \"$NAME\").IPAddress}}" "$NAME-registry")

  # The repository (and node_modules when it is a link elsewhere) at the same path on every node,
  # read-only, so containers the tests start inside the cluster (the Traefik stand-in) can run it.
  local mounts=(--volume "$PWD:$PWD:ro")
  if [ -L node_modules ]; then mounts+=(--volume "$(readlink -f node_modules):$(readlink -f node_modules):ro"); fi
  # Not --privileged (see the entry point): every capability this machine has, no seccomp or
  # AppArmor profile, unmasked /proc, all devices, a cgroup namespace of its own.
  local privileges=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined
    --security-opt apparmor=unconfined --security-opt systempaths=unconfined
    --device-cgroup-rule 'a *:* rwm' --cgroupns private)
  # Fixed addresses and host ports too: a restarted node answers where cluster.env says it does.
  local index=0
  for node in "${NODES[@]}"; do
    index=$((index + 1))
    "$DOCKER" run -d "${privileges[@]}" --name "$NAME-$node" --hostname "$node" --network "$NAME" \
      --ip "$prefix.$((10 + index))" --label train-to-serve.test-support=cluster --env TTS_REGISTRY="$registry_ip:5000" \
      --volume "$NAME-$node:/var/lib/docker" "${mounts[@]}" --publish "127.0.0.1:$(free_port):2375" \
      --entrypoint /entrypoint.sh "$IMAGE" >/dev/null
  done

  local endpoints=() ips=()
  for node in "${NODES[@]}"; do
    local port ip
    port=$("$DOCKER" port "$NAME-$node" 2375/tcp | head -n1 | sed 's/.*://')
    ip=$("$DOCKER" inspect -f "{{(index .NetworkSettings.Networks \"$NAME\").IPAddress}}" "$NAME-$node")
    endpoints+=("tcp://127.0.0.1:$port")
    ips+=("$ip")
    for _ in $(seq 1 120); do
      DOCKER_HOST="tcp://127.0.0.1:$port" "$DOCKER" info >/dev/null 2>&1 && break
      sleep 0.5
    done
    DOCKER_HOST="tcp://127.0.0.1:$port" "$DOCKER" info >/dev/null 2>&1 || {
      "$DOCKER" logs --tail 30 "$NAME-$node" >&2
      log "the engine of $node did not start"
      exit 1
    }
  done

  # One swarm of three managers: a runner may talk to any of them.
  DOCKER_HOST=${endpoints[0]} "$DOCKER" swarm init --advertise-addr "${ips[0]}" >/dev/null
  local token
  token=$(DOCKER_HOST=${endpoints[0]} "$DOCKER" swarm join-token -q manager)
  for i in 1 2; do
    DOCKER_HOST=${endpoints[$i]} "$DOCKER" swarm join --token "$token" --advertise-addr "${ips[$i]}" "${ips[0]}:2377" >/dev/null
  done
  for _ in $(seq 1 120); do
    [ "$(DOCKER_HOST=${endpoints[0]} "$DOCKER" node ls --filter role=manager --format '{{.Status}} {{.ManagerStatus}}' | grep -cE '^Ready (Leader|Reachable)$')" = 3 ] && break
    sleep 0.5
  done

  {
    echo "TTS_CLUSTER_NAME=$NAME"
    echo "TTS_CLUSTER_SUBNET=$subnet"
    echo "TTS_CLUSTER_NODES='${NODES[*]}'"
    echo "TTS_CLUSTER_ENDPOINTS='${endpoints[*]}'"
    echo "TTS_CLUSTER_IPS='${ips[*]}'"
    echo "TTS_CLUSTER_REGISTRY=$registry_ip:5000"
    echo "TTS_CLUSTER_REGISTRY_LOCAL=127.0.0.1:$("$DOCKER" port "$NAME-registry" 5000/tcp | head -n1 | sed 's/.*://')"
    echo "TTS_CLUSTER_REGISTRY_USER=$REGISTRY_USER"
    echo "TTS_CLUSTER_REGISTRY_PASSWORD=$password"
  } >"$STATE/cluster.env"
  DOCKER_HOST=${endpoints[0]} "$DOCKER" node ls >&2
  log "3 nodes up in $((SECONDS - started))s (state: $STATE/cluster.env)"
}

down() {
  local names
  names=$("$DOCKER" ps -aq --filter "label=train-to-serve.test-support=cluster" --filter "name=^$NAME-")
  # shellcheck disable=SC2086
  [ -z "$names" ] || "$DOCKER" rm -f -v $names >/dev/null
  for volume in "$NAME-registry" "$NAME-node1" "$NAME-node2" "$NAME-node3"; do
    "$DOCKER" volume rm "$volume" >/dev/null 2>&1 || true
  done
  "$DOCKER" network rm "$NAME" >/dev/null 2>&1 || true
  rm -rf "$STATE"
  [ "${1:-}" = quiet ] || log "removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
