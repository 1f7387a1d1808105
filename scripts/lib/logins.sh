# Least-privilege logins for the scripts (demo, chaos, netns-test): every process runs as
# its own database login, as it is deployed; the superuser only migrates and creates roles.
# Source it, then:
#
#   make_logins PREFIX      creates (or resets) PREFIX_dispatcher, PREFIX_maintainer,
#                           PREFIX_dashboard and one PREFIX_<department> per task force,
#                           each with a fresh random password (dispatcher roles login)
#   login_url NAME REST     prints postgresql://NAME:PASSWORD@REST
#                           (REST: "/db?host=/socket&port=5432" or "10.0.0.1:5432/db?...")
#   login_password NAME     prints NAME's password
#
# Needs $bin (the folder holding `dispatcher`) and DATABASE_URL of the superuser.
# Passwords are random hex (nothing to escape in a URI) and are hashed on the client.

DEPARTMENTS=(tax credit legal infrastructure financing innovation foreign)
declare -gA LOGIN_PASSWORD=()

make_login() { # NAME ROLE
  local name=$1 role=$2 password
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  LOGIN_PASSWORD_VALUE=$password "$bin/dispatcher" roles login "$name" --role "$role" --password-env LOGIN_PASSWORD_VALUE >/dev/null
  LOGIN_PASSWORD[$name]=$password
}

make_logins() { # PREFIX
  local prefix=$1 department
  make_login "${prefix}_dispatcher" dispatcher
  make_login "${prefix}_maintainer" maintainer
  make_login "${prefix}_dashboard" dashboard
  for department in "${DEPARTMENTS[@]}"; do make_login "${prefix}_$department" "worker-$department"; done
}

login_url() { # NAME REST
  printf 'postgresql://%s:%s@%s' "$1" "${LOGIN_PASSWORD[$1]}" "$2"
}

login_password() { # NAME
  printf '%s' "${LOGIN_PASSWORD[$1]}"
}
