#!/usr/bin/env bash
# `npm run setup`: make this machine able to run the whole suite (`npm test`), and say what it cannot.
# CI (.ci/run) runs it too, so users and CI share one path.
#
# - Debian packages: a JVM for the Google Cloud emulators, memcached and a Valkey-protocol server
#   (valkey-server or redis-server) for WEAK locks, chromium for the
#   locks page's browser test (puppeteer-core never downloads a browser), and the nemesis's tools
#   (ip and tc: iproute2; iptables; libfaketime: faketime). Only the missing ones are installed:
#   with apt-get as root, else through sudo; with neither, the exact command is printed.
# - The Google Cloud CLI's emulators and gcloud cannot come from the registries this machine reaches:
#   they are checked, and what is missing is named with how to get it.
# Exit 0 when everything is there, 1 when something is still missing (each one on its own line).
#
# Bash, not Node: it runs before `npm ci` and before any build, and its work is apt-get and
# `command -v`. Tools are found on PATH, so a test can hide one or put a fake apt-get first.
set -uo pipefail

# The Debian packages the suite needs, as "command(s) it provides:package"; "a|b" is either command
# (a Valkey-protocol server for WEAK locks on Valkey: Debian's valkey-server where the distribution
# has it, else redis-server, which bookworm has and which speaks the same protocol).
readonly DEBIAN_NEEDS=(
  'java:openjdk-17-jre-headless'
  'memcached:memcached'
  'valkey-server|redis-server:redis-server'
  'chromium:chromium'
  'ip tc:iproute2'
  'iptables:iptables'
  'faketime:faketime'
)

# True when one of the |-separated commands is on PATH.
any_command() {
  local one
  for one in ${1//|/ }; do
    command -v "$one" >/dev/null 2>&1 && return 0
  done
  return 1
}

missing_packages() {
  local need tool
  for need in "${DEBIAN_NEEDS[@]}"; do
    for tool in ${need%%:*}; do
      if ! any_command "$tool"; then
        echo "${need##*:}"
        break
      fi
    done
  done
}

say() { echo "[npm run setup] $*"; }

mapfile -t wanted < <(missing_packages)
if [ ${#wanted[@]} -gt 0 ]; then
  apt=()
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here: install these Debian/Ubuntu packages (or their equivalents) yourself: ${wanted[*]}"
  elif [ "$(id -u)" = 0 ]; then
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  elif command -v sudo >/dev/null 2>&1; then
    apt=(sudo env DEBIAN_FRONTEND=noninteractive apt-get)
  else
    say "not root and no sudo: as root, run: apt-get update && apt-get install -y ${wanted[*]}"
  fi
  if [ ${#apt[@]} -gt 0 ]; then
    say "installing ${wanted[*]}: ${apt[*]} install -y ${wanted[*]}"
    "${apt[@]}" update -q && "${apt[@]}" install -y -q "${wanted[@]}" ||
      say "apt-get failed (exit $?)"
  fi
fi

failures=()
# Checked again after the install: what apt-get could not deliver is still missing.
for package in $(missing_packages); do
  failures+=("Debian package $package (apt-get install -y $package)")
done

# The emulators come with the Google Cloud CLI, where the suite looks for them (CLOUDSDK_ROOT_DIR).
sdk="${CLOUDSDK_ROOT_DIR:-/usr/lib/google-cloud-sdk}"
# Each as "gcloud component:its package in Google's apt repository:the file the suite runs".
for part in \
  cloud-datastore-emulator:google-cloud-cli-datastore-emulator:platform/cloud-datastore-emulator/cloud_datastore_emulator \
  cloud-firestore-emulator:google-cloud-cli-firestore-emulator:platform/cloud-firestore-emulator/cloud-firestore-emulator.jar \
  pubsub-emulator:google-cloud-cli-pubsub-emulator:platform/pubsub-emulator/bin/cloud-pubsub-emulator; do
  IFS=: read -r component apt_package file <<<"$part"
  if [ ! -e "$sdk/$file" ]; then
    failures+=("the Google Cloud CLI component $component (looked for $sdk/$file): gcloud components install $component, or apt-get install $apt_package from Google's apt repository (https://cloud.google.com/sdk/docs/install); or set CLOUDSDK_ROOT_DIR to an SDK that has it")
  fi
done
# The deploy tests have gcloud itself validate every command line the deploy would run (offline).
gcloud="${GCLOUD_BINARY:-gcloud}"
if ! command -v "$gcloud" >/dev/null 2>&1; then
  failures+=("$gcloud, the Google Cloud CLI (https://cloud.google.com/sdk/docs/install; or set GCLOUD_BINARY)")
fi

if [ ${#failures[@]} -gt 0 ]; then
  {
    say "still missing, npm test will fail without them:"
    printf '  - %s\n' "${failures[@]}"
  } >&2
  exit 1
fi
say "this machine has everything npm test needs"
