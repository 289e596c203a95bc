#!/bin/sh
# PostgreSQL 15 from Debian for the ./postgres tests, installed when missing. The tests start their own servers on
# loopback ports in temp folders and stop them by pid: the package's own cluster is neither created nor started.
# Where it cannot be installed (not root, no apt-get), the tests register as skipped and say why.
set -eu
if [ -x /usr/lib/postgresql/15/bin/postgres ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL 15 is not installed and cannot be installed here (needs root and apt-get): its tests will be skipped"
  exit 0
fi
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/kvsqlite-tests.conf
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql-15 > /dev/null
if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
echo "installed PostgreSQL 15: $(/usr/lib/postgresql/15/bin/postgres --version)"
