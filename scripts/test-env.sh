#!/usr/bin/env bash
# Makes sure the real parts the tests and the demo use are installed and running: the Docker
# Engine, the CNCF distribution registry, skopeo, htpasswd and openssl, and the Python parts
# (scripts/python-env.sh). On a bare Debian machine
# (as root) it installs them from Debian's packages and starts dockerd in the background.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v tar >/dev/null 2>&1 || need+=(tar)

if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "test-env: missing ${need[*]}: install them with 'sudo apt-get install -y ${need[*]}' (or run as root)" >&2
    exit 1
  fi
  echo "test-env: installing ${need[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

docker_cli=/usr/bin/docker
[ -x "$docker_cli" ] || docker_cli=docker

if ! "$docker_cli" info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-env: the Docker Engine is not answering; start it (sudo dockerd &) or run as root" >&2
    exit 1
  fi
  log=${TMPDIR:-/tmp}/train-to-serve-dockerd.log
  echo "test-env: starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    "$docker_cli" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$docker_cli" info >/dev/null 2>&1 || { echo "test-env: dockerd did not start; see $log" >&2; exit 1; }
fi

# What an earlier run left behind (a run killed halfway skips its cleanup): every test names its
# containers, Swarm services, configs and networks `tts…` (a deploy lock on the engine is the
# container `train-to-serve-lock-<service>`). Left running, their health probes alone
# kept two cores saturated and the next run's waits timed out. Only the tests use that prefix, so
# run one test suite at a time on an engine. The three-node cluster (`tts-cluster…`, made and
# removed by scripts/cluster.sh) is left alone: `npm run test:cluster` calls this script too,
# and a cluster that is up is in use.
"$docker_cli" service ls --format '{{.Name}}' | grep '^tts' | xargs -r "$docker_cli" service rm >/dev/null 2>&1 || true
"$docker_cli" ps -a --format '{{.Names}}' | grep -E '^(tts|train-to-serve-lock-tts)' | grep -v '^tts-cluster' | xargs -r "$docker_cli" rm -f -v >/dev/null 2>&1 || true
"$docker_cli" config ls --format '{{.Name}}' 2>/dev/null | grep '^tts' | xargs -r "$docker_cli" config rm >/dev/null 2>&1 || true
"$docker_cli" network ls --format '{{.Name}}' | grep '^tts' | grep -v '^tts-cluster' | xargs -r "$docker_cli" network rm >/dev/null 2>&1 || true

# PyTorch, scikit-learn and ONNX Runtime for Python (the ONNX and PyTorch example tests).
bash "$(dirname "$0")/python-env.sh"
exit 0
