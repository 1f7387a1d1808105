# Sourced by the scripts: installs missing Debian packages, once, with sudo when not root.
#
#   source "$project/scripts/lib/deps.sh"
#   ensure_packages NAME PACKAGE...        # installs the missing ones, or fails
#   try_ensure_packages NAME PACKAGE...    # the same, but returns 1 instead of failing
#   build_packages                         # the packages the build and the tests need
#
# NAME prefixes the messages ("test: installing libpq-dev"). `apt-get update` runs once
# per script, before the first install (a fresh machine's package lists are empty).

build_packages=(postgresql postgresql-contrib libpq-dev pkgconf libopencc-dev)

_deps_updated=0

# The packages of "$@" that are not installed.
missing_packages() {
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$package"
  done
}

try_ensure_packages() {
  local name=$1; shift
  local missing=()
  mapfile -t missing < <(missing_packages "$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "$name: installing ${missing[*]}" >&2
  if [ "$_deps_updated" -eq 0 ]; then
    $sudo apt-get update -qq >&2 || return 1
    _deps_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2 || return 1
}

ensure_packages() {
  local name=$1
  try_ensure_packages "$@" || { echo "$1: could not install the packages it needs (see above)" >&2; exit 1; }
}
