#!/usr/bin/env bash
# npm run test:cluster: start the three-node swarm (scripts/cluster.sh), run the cluster suite
# against it, and remove it whatever the outcome. Extra arguments go to vitest.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash scripts/test-env.sh || exit 1
trap 'bash scripts/cluster.sh down' EXIT
bash scripts/cluster.sh up || exit 1
npx vitest run --config vitest.cluster.config.ts "$@"
status=$?
echo "test:cluster: $((SECONDS - start))s in all"
exit $status
