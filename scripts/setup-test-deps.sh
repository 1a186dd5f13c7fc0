#!/usr/bin/env bash
# Installs the real components the tests and the benchmark run against (Debian packages).
# Idempotent and quick when everything is present. Without root/apt it only reports what is
# missing; the suites that need a missing tool then fail under CI=true and skip loudly otherwise.
set -u

need=()
# --bench: also the load generator used by `npm run bench`.
[ "${1:-}" = "--bench" ] && { command -v wrk >/dev/null 2>&1 || need+=(wrk); }
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
command -v prometheus-pushgateway >/dev/null 2>&1 || [ -x /usr/bin/prometheus-pushgateway ] || need+=(prometheus-pushgateway)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
# Headless browser for the dashboard tests (driven by playwright-core).
[ -x /usr/bin/chromium ] || need+=(chromium)
# Helm's template engine, built offline from Debian's Go packages, renders the chart in tests.
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || need+=(golang-github-masterminds-sprig-dev)
[ -d /usr/share/gocode/src/github.com/ghodss/yaml ] || need+=(golang-github-ghodss-yaml-dev)
[ -d /usr/share/gocode/src/gopkg.in/yaml.v3 ] || need+=(golang-gopkg-yaml.v3-dev)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup-test-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
    echo "setup-test-deps: apt-get install ${need[*]} failed" >&2
    [ "${CI:-}" = "true" ] && exit 1
  fi
  # The packages start system services; tests run their own instances on free ports.
  for svc in prometheus victoria-metrics prometheus-pushgateway prometheus-node-exporter; do
    (command -v systemctl >/dev/null 2>&1 && systemctl stop "$svc") >/dev/null 2>&1 || true
    (service "$svc" stop) >/dev/null 2>&1 || true
  done
else
  echo "setup-test-deps: missing ${need[*]} (no root or apt-get to install them)" >&2
  [ "${CI:-}" = "true" ] && exit 1
fi
exit 0
